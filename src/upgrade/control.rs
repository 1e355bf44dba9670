//! The control socket (`--control`, a Unix socket of mode 0600 beside the
//! database by default): the one way the CLI talks to a running server.
//! `gaslamp upgrade [reason]` sends one line, `upgrade <reason>`, and reads
//! one answer line: `ok: <what was upgraded>`, `refused: <why>` or
//! `failed: <why>`. The connection of a successful upgrade is handed over
//! with the players, and the new image answers it once every player's
//! `Upgrade complete.` is on the wire.
//!
//! Access is the file's mode: only the server's own user can connect.

use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use crate::game::Game;

/// The longest request line read.
const MAX_REQUEST: usize = 1024;
/// How long a client may take to send its request.
const REQUEST_WAIT: Duration = Duration::from_secs(5);

/// Why the control socket could not be opened or asked.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("cannot open the control socket {path}: {source}", path = .path.display())]
    Bind {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("another server answers on the control socket {path}", path = .path.display())]
    InUse { path: PathBuf },
    #[error("cannot reach the server's control socket {path}: {source} (is the server running, with this --control?)", path = .path.display())]
    Connect {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the server closed the control connection without an answer")]
    NoAnswer,
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Opens the control socket at `path` (mode 0600), replacing a stale file a
/// crashed server left, refusing one a live server answers on.
pub async fn bind(path: &Path) -> Result<UnixListener, ControlError> {
    if path.exists() {
        if UnixStream::connect(path).await.is_ok() {
            return Err(ControlError::InUse {
                path: path.to_path_buf(),
            });
        }
        let _ = std::fs::remove_file(path);
    }
    let failed = |source| ControlError::Bind {
        path: path.to_path_buf(),
        source,
    };
    let listener = UnixListener::bind(path).map_err(failed)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(failed)?;
    Ok(listener)
}

/// Answers control connections until the game shuts down.
pub async fn serve(game: Arc<Game>, listener: UnixListener) {
    let shutdown = game.shutdown_token().clone();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.cancelled() => return,
        };
        match accepted {
            Ok((stream, _)) => {
                game.tasks().spawn(answer(game.clone(), stream));
            }
            Err(err) => {
                tracing::warn!(%err, "control socket accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// One control connection: one request, one answer.
async fn answer(game: Arc<Game>, mut stream: UnixStream) {
    let mut line = String::new();
    let read = {
        let mut reader = BufReader::new(&mut stream).take(MAX_REQUEST as u64);
        tokio::time::timeout(REQUEST_WAIT, reader.read_line(&mut line)).await
    };
    let reply = match read {
        Ok(Ok(_)) => handle(&game, line.trim(), &stream).await,
        _ => "refused: no request".to_string(),
    };
    let _ = stream.write_all(format!("{reply}\n").as_bytes()).await;
}

/// Carries out one request; the answer line.
async fn handle(game: &Arc<Game>, line: &str, stream: &UnixStream) -> String {
    let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
    if word != "upgrade" {
        return format!("refused: unknown request {word:?}");
    }
    let reason = crate::text::sanitize(rest.trim());
    let reason = if reason.is_empty() {
        "gaslamp upgrade".to_string()
    } else {
        reason
    };
    // A copy of this connection goes with the players, for the new image's
    // answer; this one answers only a failure.
    let waiting = std::os::fd::AsFd::as_fd(stream).try_clone_to_owned().ok();
    let outcome = match game.handoffs().request_waited(&reason, waiting) {
        Ok(outcome) => outcome,
        Err(refused) => return format!("refused: {refused}"),
    };
    tracing::info!(%reason, "upgrade asked on the control socket");
    match outcome.await {
        Ok(Err(reason)) => format!("failed: {reason}"),
        _ => "failed: the upgrade ended without an answer".to_string(),
    }
}

/// The new image's answer on a handed-over control connection, once every
/// resumed player has been told (`ok: ...`).
pub async fn answer_handed_over(fd: OwnedFd, said: String) {
    let std = std::os::unix::net::UnixStream::from(fd);
    let stream = std
        .set_nonblocking(true)
        .and_then(|()| UnixStream::from_std(std));
    if let Ok(mut stream) = stream {
        let _ = stream.write_all(format!("{said}\n").as_bytes()).await;
        let _ = stream.shutdown().await;
    }
}

/// The CLI's side: asks for an upgrade and waits for the answer. `Ok` with
/// the server's `ok:` line; `Err` with the reason otherwise.
pub async fn ask_upgrade(path: &Path, reason: &str) -> Result<String, ControlError> {
    let mut stream = UnixStream::connect(path)
        .await
        .map_err(|source| ControlError::Connect {
            path: path.to_path_buf(),
            source,
        })?;
    let reason = reason.replace(['\n', '\r'], " ");
    stream
        .write_all(format!("upgrade {reason}\n").as_bytes())
        .await?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).await?;
    let line = line.trim();
    match line.split_once(": ") {
        Some(("ok", said)) => Ok(said.to_string()),
        Some((_, why)) => Err(ControlError::Refused(why.to_string())),
        None => Err(ControlError::NoAnswer),
    }
}
