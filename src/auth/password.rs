//! The password policy (SPEC §3, the predecessor's STANDARD policy).
//!
//! Every rule a password breaks is reported, each as a sentence, so the player can
//! fix all of them at once.

/// The fewest bytes a password may have.
pub const MIN_PASSWORD_BYTES: usize = 12;
/// The most bytes bcrypt reads; longer passwords are refused, never truncated.
pub const MAX_PASSWORD_BYTES: usize = 72;

/// Returns every rule `password` breaks; empty means it is acceptable.
pub fn policy_problems(password: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if password.len() < MIN_PASSWORD_BYTES {
        problems.push(format!(
            "Passwords must be at least {MIN_PASSWORD_BYTES} characters long."
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        problems.push(format!(
            "Passwords may be at most {MAX_PASSWORD_BYTES} bytes long."
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_limits() {
        assert_eq!(policy_problems("short").len(), 1);
        assert!(policy_problems("a perfectly fine pass").is_empty());
        assert_eq!(policy_problems(&"x".repeat(73)).len(), 1);
    }
}
