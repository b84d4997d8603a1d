//! Certificate status lists (W3C Bitstring Status List v1.0): each
//! certificate's entry, a random free index in a list of 131,072, and per
//! list the signed credential that publishes the bits, cached until a
//! revocation changes the list or its validity runs short.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("status_lists")
                .col(pk_uuid("id"))
                // `revocation` (the one purpose certificates use).
                .col(string_len("purpose", 16))
                // Bits in the list; a whole number of bytes.
                .col(
                    integer("size").check(
                        Expr::col("size")
                            .gt(0)
                            .and(Expr::col("size").modulo(8).eq(0)),
                    ),
                )
                // Entries given out: a guarded counter (`used < size`).
                .col(
                    integer("used").default(0).check(
                        Expr::col("used")
                            .gte(0)
                            .and(Expr::col("used").lte(Expr::col("size"))),
                    ),
                )
                // The URL certificates name as `statusListCredential`.
                .col(text("url"))
                // Moves on with every revocation of a certificate listed here.
                .col(big_integer("revision").default(0))
                .col(timestamp_with_time_zone("created_at"))
                // The signed credential last published, the key that signed
                // it, the revision it shows and its `validUntil`.
                .col(text_null("credential"))
                .col(string_len_null("kid", 64))
                .col(big_integer_null("signed_revision"))
                .col(timestamp_with_time_zone_null("valid_until"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("status_list_entries")
                .col(uuid("list_id"))
                .col(integer("idx"))
                .col(uuid("certificate_id"))
                // One certificate per index of a list.
                .primary_key(Index::create().col("list_id").col("idx"))
                .foreign_key(
                    ForeignKey::create()
                        .from("status_list_entries", "list_id")
                        .to("status_lists", "id"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("status_list_entries", "certificate_id")
                        .to("certificates", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // One entry per certificate.
        m.create_index(
            Index::create()
                .name("ux_status_list_entries_certificate")
                .table("status_list_entries")
                .col("certificate_id")
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("status_list_entries").to_owned())
            .await?;
        m.drop_table(Table::drop().table("status_lists").to_owned())
            .await
    }
}
