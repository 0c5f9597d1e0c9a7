//! The one place that decides whether a principal may do an action to a
//! resource, by role and by jurisdiction subtree. Every RPC calls
//! [`authorize`] before touching data. A resource outside the caller's
//! jurisdiction is reported as NOT_FOUND so its existence is not revealed.

use super::principal::{Principal, Role, Scope};
use crate::error::AppError;

/// What the caller wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read one's own account.
    ReadOwnAccount,
    /// Read regions and organizations.
    ReadDirectory,
    /// Create or change regions and organizations.
    WriteDirectory,
    /// List staff members of organizations.
    ListStaff,
    /// Create, read and disable accounts other than one's own.
    ManageAccounts,
}

/// What the action is done to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource<'a> {
    /// The system as a whole (directory writes, account management).
    System,
    /// Something placed in a region, identified by the region's path.
    InRegion { path: &'a str },
}

/// Staff roles that work inside a jurisdiction.
const JURISDICTION_STAFF: [Role; 7] =
    [Role::Clerk, Role::Handler, Role::UnitLead, Role::Leader, Role::Supervisor, Role::Mediator, Role::Lawyer];

/// Whether region `path` lies in the subtree rooted at `root`.
pub fn path_within(path: &str, root: &str) -> bool {
    path == root || (path.len() > root.len() && path.starts_with(root) && path.as_bytes()[root.len()] == b'/')
}

/// Whether `path` is inside the principal's jurisdiction (admins: everywhere).
pub fn in_jurisdiction(principal: &Principal, path: &str) -> bool {
    principal.is_admin() || principal.jurisdiction.as_deref().is_some_and(|root| path_within(path, root))
}

fn denied(action: Action) -> AppError {
    AppError::permission_denied("PERMISSION_DENIED", format!("your role may not {}", describe(action)))
}

fn describe(action: Action) -> &'static str {
    match action {
        Action::ReadOwnAccount => "read your account",
        Action::ReadDirectory => "read the directory",
        Action::WriteDirectory => "change the directory",
        Action::ListStaff => "list staff",
        Action::ManageAccounts => "manage accounts",
    }
}

/// Allows or denies `action` on `resource` for `principal`.
pub fn authorize(principal: &Principal, action: Action, resource: Resource<'_>) -> Result<(), AppError> {
    if principal.is_admin() {
        return Ok(());
    }
    let is_staff = JURISDICTION_STAFF.iter().any(|role| principal.has_role(*role));
    let role_allows = match action {
        Action::ReadOwnAccount => true,
        Action::ReadDirectory => {
            principal.has_role(Role::Citizen) || is_staff || principal.scopes.contains(&Scope::DirectoryRead)
        }
        Action::ListStaff => is_staff,
        Action::WriteDirectory | Action::ManageAccounts => false,
    };
    if !role_allows {
        return Err(denied(action));
    }
    match (action, resource) {
        (Action::ListStaff, Resource::InRegion { path }) if !in_jurisdiction(principal, path) => {
            Err(AppError::NotFound { resource: "organization" })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::principal::AccountKind;
    use uuid::Uuid;

    fn principal(kind: AccountKind, roles: &[Role], jurisdiction: Option<&str>, scopes: &[Scope]) -> Principal {
        Principal {
            account_id: Uuid::now_v7(),
            kind,
            roles: roles.to_vec(),
            organization_id: jurisdiction.map(|_| Uuid::now_v7()),
            jurisdiction: jurisdiction.map(str::to_owned),
            scopes: scopes.to_vec(),
        }
    }

    #[test]
    fn subtree_matching_respects_code_boundaries() {
        assert!(path_within("360700/360702", "360700"));
        assert!(path_within("360700", "360700"));
        assert!(!path_within("360700", "360700/360702"));
        assert!(!path_within("3607001/360702", "360700"), "a longer sibling code is not inside");
        assert!(!path_within("360701", "360700"));
    }

    /// The whole matrix for the directory actions: who may, who may not, and
    /// which denial (PERMISSION_DENIED for the role, NOT_FOUND for the place).
    #[test]
    fn directory_matrix() {
        let county = "360700/360702";
        let other_county = "360700/360703";
        let citizen = principal(AccountKind::Citizen, &[Role::Citizen], None, &[]);
        let clerk = principal(AccountKind::Staff, &[Role::Clerk], Some(county), &[]);
        let city_leader = principal(AccountKind::Staff, &[Role::Leader], Some("360700"), &[]);
        let partner_dir = principal(AccountKind::Service, &[Role::Partner], Some(county), &[Scope::DirectoryRead]);
        let partner_cases = principal(AccountKind::Service, &[Role::Partner], Some(county), &[Scope::CasesRead]);
        let admin = principal(AccountKind::Staff, &[Role::Admin], None, &[]);
        let here = Resource::InRegion { path: "360700/360702/360702001" };
        let there = Resource::InRegion { path: "360700/360703/360703001" };
        let _ = other_county;

        use Action::*;
        let expect = |p: &Principal, action, resource, want: Option<&str>| {
            let got = authorize(p, action, resource).err().map(|e| e.reason());
            assert_eq!(got, want, "{:?} {action:?} {resource:?}", p.roles);
        };
        for p in [&citizen, &clerk, &city_leader, &partner_dir, &admin] {
            expect(p, ReadDirectory, Resource::System, None);
        }
        expect(&partner_cases, ReadDirectory, Resource::System, Some("PERMISSION_DENIED"));
        for p in [&citizen, &clerk, &city_leader, &partner_dir, &partner_cases] {
            expect(p, WriteDirectory, Resource::System, Some("PERMISSION_DENIED"));
            expect(p, ManageAccounts, Resource::System, Some("PERMISSION_DENIED"));
        }
        for p in [&citizen, &clerk, &city_leader, &partner_dir, &partner_cases, &admin] {
            expect(p, ReadOwnAccount, Resource::System, None);
        }
        expect(&admin, WriteDirectory, Resource::System, None);
        expect(&admin, ManageAccounts, Resource::System, None);

        expect(&clerk, ListStaff, here, None);
        expect(&clerk, ListStaff, there, Some("NOT_FOUND"));
        expect(&city_leader, ListStaff, there, None);
        expect(&admin, ListStaff, there, None);
        expect(&citizen, ListStaff, here, Some("PERMISSION_DENIED"));
        expect(&partner_dir, ListStaff, here, Some("PERMISSION_DENIED"));
    }
}
