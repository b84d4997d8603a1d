//! Who is asking: a signed-in person or an internal service's API key.
//! Data access that is scoped by owner takes a `Caller`; what a caller may
//! do is decided in `policy`.

use uuid::Uuid;

use crate::types::{Roles, Scope};

#[derive(Debug, Clone)]
pub struct UserCaller {
    pub id: Uuid,
    pub session_id: Uuid,
    pub roles: Roles,
}

#[derive(Debug, Clone)]
pub struct ServiceCaller {
    pub key_id: Uuid,
    pub scopes: Vec<Scope>,
}

#[derive(Debug, Clone)]
pub enum Caller {
    User(UserCaller),
    Service(ServiceCaller),
}

impl Caller {
    pub fn user_id(&self) -> Option<Uuid> {
        match self {
            Self::User(u) => Some(u.id),
            Self::Service(_) => None,
        }
    }

    pub fn has_scope(&self, scope: Scope) -> bool {
        matches!(self, Self::Service(s) if s.scopes.contains(&scope))
    }

    /// The namespace of this caller's idempotency keys.
    pub fn key_scope(&self) -> String {
        match self {
            Self::User(u) => format!("user:{}", u.id),
            Self::Service(s) => format!("key:{}", s.key_id),
        }
    }

    pub fn actor(&self) -> Actor {
        match self {
            Self::User(u) => Actor::user(u.id),
            Self::Service(s) => Actor {
                kind: "api_key",
                id: Some(s.key_id),
            },
        }
    }
}

/// Who did something, as recorded in the audit log and on ledger rows.
#[derive(Debug, Clone, Copy)]
pub struct Actor {
    pub kind: &'static str,
    pub id: Option<Uuid>,
}

impl Actor {
    pub const SYSTEM: Actor = Actor {
        kind: "system",
        id: None,
    };
    pub const CLI: Actor = Actor {
        kind: "cli",
        id: None,
    };
    pub fn user(id: Uuid) -> Self {
        Actor {
            kind: "user",
            id: Some(id),
        }
    }
}
