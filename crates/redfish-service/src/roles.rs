//! Redfish roles from IPMI privileges, and the privileges each role holds (DMTF's Redfish
//! privilege registry, DSP8011 `Redfish_1.x.x_PrivilegeRegistry`: the three standard roles).

use ipmi_proto::types::Privilege;

/// A Redfish role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Reads everything; changes only its own session and password.
    ReadOnly,
    /// Also configures components (power, boot, identify, logs).
    Operator,
    /// Also configures the manager and users.
    Administrator,
}

/// A privilege of the privilege registry, as an operation needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    /// `Login`: reading.
    Login,
    /// `ConfigureSelf`: one's own session.
    ConfigureSelf,
    /// `ConfigureComponents`: power, boot override, identify, clearing a log.
    ConfigureComponents,
    /// `ConfigureManager`: the manager's own settings.
    ConfigureManager,
    /// `ConfigureUsers`: accounts.
    ConfigureUsers,
}

impl Role {
    /// The role of an IPMI privilege limit: administrator and OEM -> Administrator, operator ->
    /// Operator, user -> ReadOnly; callback may not log in.
    pub fn from_privilege(p: Privilege) -> Option<Role> {
        match p {
            Privilege::Administrator | Privilege::Oem => Some(Role::Administrator),
            Privilege::Operator => Some(Role::Operator),
            Privilege::User => Some(Role::ReadOnly),
            Privilege::Callback => None,
        }
    }

    /// The role's ID (`Administrator`, `Operator`, `ReadOnly`).
    pub fn id(self) -> &'static str {
        match self {
            Role::ReadOnly => "ReadOnly",
            Role::Operator => "Operator",
            Role::Administrator => "Administrator",
        }
    }

    /// Every role, lowest first.
    pub const ALL: [Role; 3] = [Role::ReadOnly, Role::Operator, Role::Administrator];

    /// The privileges the role holds, as the Role resource lists them.
    pub fn privileges(self) -> &'static [&'static str] {
        match self {
            Role::ReadOnly => &["Login", "ConfigureSelf"],
            Role::Operator => &["Login", "ConfigureSelf", "ConfigureComponents"],
            Role::Administrator => &[
                "Login",
                "ConfigureManager",
                "ConfigureUsers",
                "ConfigureSelf",
                "ConfigureComponents",
            ],
        }
    }

    /// Whether the role holds `needs`.
    pub fn holds(self, needs: Needs) -> bool {
        match needs {
            Needs::Login | Needs::ConfigureSelf => true,
            Needs::ConfigureComponents => self >= Role::Operator,
            Needs::ConfigureManager | Needs::ConfigureUsers => self == Role::Administrator,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipmi_privileges_map_to_the_three_roles_and_callback_to_none() {
        assert_eq!(
            Role::from_privilege(Privilege::Administrator),
            Some(Role::Administrator)
        );
        assert_eq!(
            Role::from_privilege(Privilege::Operator),
            Some(Role::Operator)
        );
        assert_eq!(Role::from_privilege(Privilege::User), Some(Role::ReadOnly));
        assert_eq!(Role::from_privilege(Privilege::Callback), None);
        assert!(!Role::ReadOnly.holds(Needs::ConfigureComponents));
        assert!(Role::Operator.holds(Needs::ConfigureComponents));
        assert!(!Role::Operator.holds(Needs::ConfigureUsers));
    }
}
