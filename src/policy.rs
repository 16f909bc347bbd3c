//! The one table of who may do what: [`allows`] names the least role (rep < manager < admin) that may take each
//! action. The server enforces it; the browser uses the same function to decide which buttons to show.

use crate::domain::Role;

/// Everything a member can attempt inside a workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ReadWorkspace,
    CreateContact,
    UpdateContact,
    CreateDeal,
    LogActivity,
    /// Update or move a deal; `own` is whether the actor owns it.
    UpdateDeal {
        own: bool,
    },
    SetDealProbability,
    DeleteDeal,
    DeleteContact,
    ImportContacts,
    ExportContacts,
    ConfigurePipelines,
    /// Invite people, resend and revoke invitations, change roles, remove members.
    ManageMembers,
    /// Leave the workspace oneself.
    LeaveWorkspace,
    /// Checked by `services::audit::recent`, which no page or route calls yet.
    ReadAuditLog,
    /// See the workspace's queued and dead mail.
    ReadJobs,
    /// Queue a dead job again.
    RetryJob,
    UpdateOrganization,
    DeleteOrganization,
}

impl Action {
    /// Every action, for exhaustive tests and documentation.
    pub const ALL: [Action; 20] = [
        Action::ReadWorkspace,
        Action::CreateContact,
        Action::UpdateContact,
        Action::CreateDeal,
        Action::LogActivity,
        Action::UpdateDeal { own: true },
        Action::UpdateDeal { own: false },
        Action::SetDealProbability,
        Action::DeleteDeal,
        Action::DeleteContact,
        Action::ImportContacts,
        Action::ExportContacts,
        Action::ConfigurePipelines,
        Action::ManageMembers,
        Action::LeaveWorkspace,
        Action::ReadAuditLog,
        Action::ReadJobs,
        Action::RetryJob,
        Action::UpdateOrganization,
        Action::DeleteOrganization,
    ];
}

/// Whether a member with `role` may perform `action`.
pub fn allows(role: Role, action: Action) -> bool {
    use Action::*;
    let least = match action {
        ReadWorkspace
        | LeaveWorkspace
        | CreateContact
        | UpdateContact
        | CreateDeal
        | LogActivity
        | UpdateDeal { own: true } => Role::Rep,
        UpdateDeal { own: false }
        | SetDealProbability
        | DeleteDeal
        | DeleteContact
        | ImportContacts => Role::Manager,
        ExportContacts | ConfigurePipelines | ManageMembers | ReadAuditLog | ReadJobs
        | RetryJob | UpdateOrganization | DeleteOrganization => Role::Admin,
    };
    role >= least
}

/// `Ok(())` when allowed, `Err(Forbidden)` otherwise: the shape every check takes, so a check always returns.
pub fn require(role: Role, action: Action) -> crate::Result<()> {
    if allows(role, action) {
        Ok(())
    } else {
        Err(crate::Error::Forbidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;

    /// The role table written out row by row, independently of [`allows`]: (action, rep, manager, admin).
    const TABLE: [(Action, bool, bool, bool); 20] = [
        (ReadWorkspace, true, true, true),
        (CreateContact, true, true, true),
        (UpdateContact, true, true, true),
        (CreateDeal, true, true, true),
        (LogActivity, true, true, true),
        (UpdateDeal { own: true }, true, true, true),
        (UpdateDeal { own: false }, false, true, true),
        (SetDealProbability, false, true, true),
        (DeleteDeal, false, true, true),
        (DeleteContact, false, true, true),
        (ImportContacts, false, true, true),
        (ExportContacts, false, false, true),
        (ConfigurePipelines, false, false, true),
        (ManageMembers, false, false, true),
        (LeaveWorkspace, true, true, true),
        (ReadAuditLog, false, false, true),
        (ReadJobs, false, false, true),
        (RetryJob, false, false, true),
        (UpdateOrganization, false, false, true),
        (DeleteOrganization, false, false, true),
    ];

    #[test]
    fn matches_the_architecture_table() {
        for (action, rep, manager, admin) in TABLE {
            assert_eq!(allows(Role::Rep, action), rep, "rep / {action:?}");
            assert_eq!(
                allows(Role::Manager, action),
                manager,
                "manager / {action:?}"
            );
            assert_eq!(allows(Role::Admin, action), admin, "admin / {action:?}");
        }
        assert_eq!(TABLE.len(), Action::ALL.len());
        for a in Action::ALL {
            assert!(
                TABLE.iter().any(|(t, ..)| *t == a),
                "{a:?} missing from the table"
            );
        }
    }

    #[test]
    fn require_returns_forbidden() {
        assert_eq!(
            require(Role::Rep, ExportContacts),
            Err(crate::Error::Forbidden)
        );
        assert_eq!(require(Role::Admin, ExportContacts), Ok(()));
    }
}
