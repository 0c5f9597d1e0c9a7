//! Who is calling: roles, account kinds, scopes and the authenticated
//! principal.

use uuid::Uuid;

use crate::wire::wire_enum;

wire_enum! {
    /// A role on an account (values match `petition.v1.Role`).
    Role {
        Citizen = 1,
        Clerk = 2,
        Handler = 3,
        UnitLead = 4,
        Leader = 5,
        Supervisor = 6,
        Mediator = 7,
        Lawyer = 8,
        Partner = 9,
        Admin = 10,
    }
}

impl Role {
    /// Roles an admin may give a staff account.
    pub fn is_staff_role(self) -> bool {
        !matches!(self, Role::Citizen | Role::Partner)
    }
}

wire_enum! {
    /// What kind of principal an account is (values match `petition.v1.AccountKind`).
    AccountKind {
        Citizen = 1,
        Staff = 2,
        Service = 3,
    }
}

wire_enum! {
    /// A partner scope (values match `petition.v1.Scope`).
    Scope {
        CasesRead = 1,
        CasesWrite = 2,
        DirectoryRead = 3,
    }
}

/// The authenticated caller, taken from a verified access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub account_id: Uuid,
    pub kind: AccountKind,
    pub roles: Vec<Role>,
    pub organization_id: Option<Uuid>,
    /// Path (`/`-joined codes from the root) of the region the caller's
    /// organization sits in: the root of their jurisdiction subtree.
    pub jurisdiction: Option<String>,
    /// Scopes of a partner token; empty for people.
    pub scopes: Vec<Scope>,
}

impl Principal {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn is_admin(&self) -> bool {
        self.has_role(Role::Admin)
    }
}
