//! People, their sessions and refresh tokens, service API keys, the audit log,
//! and the per-track tier table that the headline tier is read from.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("users")
                .col(pk_uuid("id"))
                .col(string_len("email", 254))
                .col(string_len("handle", 32))
                .col(string_len("display_name", 80))
                .col(text_null("bio"))
                .col(string("password_hash"))
                .col(json("roles"))
                .col(string_len("status", 16))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        unique_index(m, "ux_users_email", "users", &["email"]).await?;
        unique_index(m, "ux_users_handle", "users", &["handle"]).await?;

        m.create_table(
            Table::create()
                .table("sessions")
                .col(pk_uuid("id"))
                .col(uuid("user_id"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("last_used_at"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .col(string_len_null("revoked_reason", 32))
                .col(string_len_null("user_agent", 256))
                .foreign_key(
                    ForeignKey::create()
                        .from("sessions", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        index(m, "ix_sessions_user", "sessions", &["user_id"]).await?;

        m.create_table(
            Table::create()
                .table("refresh_tokens")
                .col(pk_uuid("id"))
                .col(uuid("session_id"))
                .col(string_len("token_hash", 64))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone_null("used_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("refresh_tokens", "session_id")
                        .to("sessions", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        unique_index(
            m,
            "ux_refresh_tokens_hash",
            "refresh_tokens",
            &["token_hash"],
        )
        .await?;
        index(
            m,
            "ix_refresh_tokens_session",
            "refresh_tokens",
            &["session_id"],
        )
        .await?;

        m.create_table(
            Table::create()
                .table("api_keys")
                .col(pk_uuid("id"))
                .col(string_len("name", 80))
                .col(string_len("prefix", 16))
                .col(string_len("key_hash", 64))
                .col(json("scopes"))
                .col(uuid_null("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .to_owned(),
        )
        .await?;
        unique_index(m, "ux_api_keys_hash", "api_keys", &["key_hash"]).await?;

        m.create_table(
            Table::create()
                .table("audit_log")
                .col(pk_uuid("id"))
                .col(string_len("actor_kind", 16))
                .col(uuid_null("actor_id"))
                .col(string_len("action", 64))
                .col(string_len("target_type", 32))
                .col(string_len_null("target_id", 64))
                .col(json_null("before"))
                .col(json_null("after"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_audit_log_target",
            "audit_log",
            &["target_type", "target_id"],
        )
        .await?;

        // Filled by the tiers capability; the headline tier is the highest row.
        m.create_table(
            Table::create()
                .table("talent_tracks")
                .col(uuid("talent_id"))
                .col(string_len("track", 32))
                .col(small_integer("tier"))
                .col(timestamp_with_time_zone("enrolled_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .primary_key(Index::create().col("talent_id").col("track"))
                .foreign_key(
                    ForeignKey::create()
                        .from("talent_tracks", "talent_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "talent_tracks",
            "audit_log",
            "api_keys",
            "refresh_tokens",
            "sessions",
            "users",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

pub(crate) async fn unique_index(
    m: &SchemaManager<'_>,
    name: &'static str,
    table: &'static str,
    cols: &[&'static str],
) -> Result<(), DbErr> {
    let mut idx = Index::create();
    idx.name(name).table(table).unique();
    for c in cols {
        idx.col(*c);
    }
    m.create_index(idx.to_owned()).await
}

pub(crate) async fn index(
    m: &SchemaManager<'_>,
    name: &'static str,
    table: &'static str,
    cols: &[&'static str],
) -> Result<(), DbErr> {
    let mut idx = Index::create();
    idx.name(name).table(table);
    for c in cols {
        idx.col(*c);
    }
    m.create_index(idx.to_owned()).await
}
