//! The kind of each organization, kept in memory: a kind is fixed when the
//! organization is created (UpdateOrganization changes only its name and
//! parent) and organizations are never deleted, so a kind read once stays
//! true, and every read that asks "is the viewer in the discipline channel"
//! costs no statement after the first.

use std::collections::HashMap;
use std::sync::RwLock;

use diesel::prelude::*;
use uuid::Uuid;

use crate::error::AppError;
use crate::schema::organizations;

/// Kinds remembered at most; past it the memory starts afresh.
const CAPACITY: usize = 100_000;

#[derive(Debug, Default)]
pub struct OrganizationKinds {
    known: RwLock<HashMap<Uuid, i16>>,
}

impl OrganizationKinds {
    /// The stored kind of organization `id`; `None` when there is no such
    /// organization (not remembered: it may be created later).
    pub fn get(&self, conn: &mut PgConnection, id: Uuid) -> Result<Option<i16>, AppError> {
        if let Some(kind) = self.known.read().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&id) {
            return Ok(Some(*kind));
        }
        let kind: Option<i16> = organizations::table.find(id).select(organizations::kind).first(conn).optional()?;
        if let Some(kind) = kind {
            let mut known = self.known.write().unwrap_or_else(|poisoned| poisoned.into_inner());
            if known.len() >= CAPACITY {
                known.clear();
            }
            known.insert(id, kind);
        }
        Ok(kind)
    }
}
