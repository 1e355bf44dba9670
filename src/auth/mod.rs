//! Rules about accounts that do not depend on where they are stored: roles and
//! their order, and what makes a valid account or character name.
//!
//! **Invariant:** nothing here touches the network or the database; the session
//! layer and the command-line tools both call it before asking the store to write.

pub mod generate;
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

/// Why one account may not manage another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Nobody manages their own account.
    Yourself,
    /// The target's role is not strictly below the actor's.
    NotBelow,
    /// A role may only be given below the giver's own.
    RoleTooHigh,
}

/// The hierarchy of SPEC §5: managing an account needs a role strictly above its
/// role, nobody manages themselves, and a role given must be below the giver's.
/// Accounts are `(id, role)`.
pub fn may_manage(
    actor: (i64, Role),
    target: (i64, Role),
    giving: Option<Role>,
) -> Result<(), Refusal> {
    if actor.0 == target.0 {
        return Err(Refusal::Yourself);
    }
    if target.1 >= actor.1 {
        return Err(Refusal::NotBelow);
    }
    if giving.is_some_and(|role| role >= actor.1) {
        return Err(Refusal::RoleTooHigh);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Actor, target, role given, and the verdict.
    type Case = ((i64, Role), (i64, Role), Option<Role>, Result<(), Refusal>);

    #[test]
    fn the_hierarchy_in_a_table() {
        use Role::*;
        let cases: &[Case] = &[
            ((1, Admin), (2, Player), None, Ok(())),
            ((1, Admin), (2, Worldbuilder), None, Ok(())),
            ((1, Admin), (2, Admin), None, Err(Refusal::NotBelow)),
            ((1, Admin), (2, Superuser), None, Err(Refusal::NotBelow)),
            ((1, Superuser), (1, Superuser), None, Err(Refusal::Yourself)),
            ((1, Admin), (1, Player), None, Err(Refusal::Yourself)),
            ((1, Superuser), (2, Player), Some(Admin), Ok(())),
            (
                (1, Superuser),
                (2, Player),
                Some(Superuser),
                Err(Refusal::RoleTooHigh),
            ),
            (
                (1, Admin),
                (2, Player),
                Some(Admin),
                Err(Refusal::RoleTooHigh),
            ),
            ((1, Admin), (2, Worldbuilder), Some(Player), Ok(())),
        ];
        for (actor, target, giving, want) in cases {
            assert_eq!(
                may_manage(*actor, *target, *giving),
                *want,
                "{actor:?} on {target:?} giving {giving:?}"
            );
        }
    }

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
