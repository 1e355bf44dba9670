//! What the shell tools ask the operator, and the environment variables that
//! answer instead (for scripts and tests): `MUD_ADMIN_USER` and
//! `MUD_ADMIN_PASSWORD` for the superuser, `GASLAMP_NEW_PASSWORD` for a new
//! password. Passwords are read from the terminal without echo, twice.
//!
//! Reading the terminal blocks, so the async tasks ask through [`blocking`].

use std::io::{BufRead, Write};

use super::OpsError;

/// The superuser credentials from the environment, if both are set.
pub fn admin_from_env() -> Option<(String, String)> {
    let user = std::env::var("MUD_ADMIN_USER").ok()?;
    let password = std::env::var("MUD_ADMIN_PASSWORD").ok()?;
    Some((user, password))
}

/// The superuser's name and password: from the environment, else asked.
pub fn superuser_credentials() -> Result<(String, String), OpsError> {
    if let Some(credentials) = admin_from_env() {
        return Ok(credentials);
    }
    print!("Superuser account name: ");
    std::io::stdout().flush().map_err(terminal)?;
    let mut username = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut username)
        .map_err(terminal)?;
    let password = password_twice("Password: ")?;
    Ok((username.trim().to_string(), password))
}

/// A new password for `account`: from `GASLAMP_NEW_PASSWORD`, else asked
/// twice without echo.
pub fn new_password(account: &str) -> Result<String, OpsError> {
    if let Ok(password) = std::env::var("GASLAMP_NEW_PASSWORD") {
        return Ok(password);
    }
    password_twice(&format!("New password for {account}: "))
}

fn password_twice(prompt: &str) -> Result<String, OpsError> {
    let password = rpassword::prompt_password(prompt).map_err(terminal)?;
    let repeat = rpassword::prompt_password("Repeat password: ").map_err(terminal)?;
    if password != repeat {
        return Err(OpsError::Invalid("the passwords do not match".into()));
    }
    Ok(password)
}

fn terminal(err: std::io::Error) -> OpsError {
    OpsError::Terminal(err.to_string())
}

/// Runs a question on the blocking pool, off the async workers.
pub async fn blocking<T: Send + 'static>(
    ask: impl FnOnce() -> Result<T, OpsError> + Send + 'static,
) -> Result<T, OpsError> {
    tokio::task::spawn_blocking(ask)
        .await
        .map_err(|err| OpsError::Terminal(err.to_string()))?
}
