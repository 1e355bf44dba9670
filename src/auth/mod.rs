//! Rules about accounts that do not depend on where they are stored: roles and
//! their order, and what makes a valid account or character name.
//!
//! **Invariant:** nothing here touches the network or the database; the session
//! layer and the command-line tools both call it before asking the store to write.

pub mod names;
pub mod password;

use std::fmt;
use std::str::FromStr;

/// What an account may do. The order is the hierarchy: each role may do everything
/// the roles below it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Player,
    Worldbuilder,
    Admin,
    Superuser,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Player,
        Role::Worldbuilder,
        Role::Admin,
        Role::Superuser,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Player => "player",
            Role::Worldbuilder => "worldbuilder",
            Role::Admin => "admin",
            Role::Superuser => "superuser",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?} (player, worldbuilder, admin or superuser)")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| UnknownRole(text.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_power() {
        assert!(Role::Player < Role::Worldbuilder);
        assert!(Role::Worldbuilder < Role::Admin);
        assert!(Role::Admin < Role::Superuser);
    }

    #[test]
    fn roles_round_trip_through_text() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert_eq!("ADMIN".parse::<Role>(), Ok(Role::Admin));
        assert!("wizard".parse::<Role>().is_err());
    }
}
