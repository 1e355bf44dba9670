//! The server under test: the real `gaslamp` binary as a child process.
//!
//! Each scenario starts its own server on a free loopback port with its own
//! database (so one scenario's accounts, rows and memory never colour another's),
//! reads its memory and CPU time from `/proc`, and stops it with SIGTERM, the
//! graceful way an operator would. The server's log goes to a file beside the
//! database, named in any error. A scenario may also give it a TLS listener with
//! a certificate made by `gaslamp::tls::dev_cert`, or its web listener (which is
//! otherwise off, so that servers never compete for its default port).

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

use crate::client::Target;

/// How the server is started.
pub struct Launch<'a> {
    pub binary: &'a Path,
    pub db: &'a Path,
    pub worlds: &'a Path,
    pub bcrypt_cost: u32,
    /// Raised above the defaults: every client comes from 127.0.0.1.
    pub max_connections: usize,
    /// Extra environment for the server process (`--server-env KEY=VALUE`).
    pub env: &'a [(String, String)],
    /// A directory holding `cert.pem` and `key.pem`: the server also listens
    /// for TLS, on a port of its own.
    pub tls_dir: Option<&'a Path>,
    /// The server also opens its web listener (WebSocket at /ws), on a port
    /// of its own; otherwise `--web-bind off`.
    pub web: bool,
}

/// A running server process.
pub struct ServerProcess {
    child: Child,
    pub pid: u32,
    pub addr: SocketAddr,
    pub log: PathBuf,
    /// The TLS listener and the certificate to trust, when launched with one.
    tls: Option<(SocketAddr, PathBuf)>,
    /// The web listener, when launched with one.
    web: Option<SocketAddr>,
}

/// Resident memory of a process, in KiB.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    pub rss_kib: u64,
    pub hwm_kib: u64,
}

impl ServerProcess {
    /// Starts the server and waits until it accepts connections.
    pub async fn start(launch: &Launch<'_>) -> anyhow::Result<ServerProcess> {
        let addr = free_port()?;
        let log = launch.db.with_extension("log");
        let log_file = std::fs::File::create(&log)
            .with_context(|| format!("creating the server log {}", log.display()))?;
        let tls = match launch.tls_dir {
            Some(dir) => Some((free_port()?, dir.to_path_buf())),
            None => None,
        };
        let web = if launch.web { Some(free_port()?) } else { None };
        let mut command = Command::new(launch.binary);
        command
            .arg("--db")
            .arg(launch.db)
            .arg("--worlds")
            .arg(launch.worlds)
            .arg("--bcrypt-cost")
            .arg(launch.bcrypt_cost.to_string())
            .arg("run")
            .arg("--bind")
            .arg(addr.to_string())
            .arg("--max-connections")
            .arg(launch.max_connections.to_string())
            .arg("--max-connections-per-ip")
            .arg(launch.max_connections.to_string());
        match web {
            // Every client comes from loopback, setting up many WebSockets at
            // once: the per-address cap is raised as the connection limits are.
            Some(addr) => command
                .arg("--web-bind")
                .arg(addr.to_string())
                .arg("--web-max-per-ip")
                .arg(launch.max_connections.to_string()),
            None => command.arg("--web-bind").arg("off"),
        };
        if let Some((tls_addr, dir)) = &tls {
            command
                .arg("--tls-bind")
                .arg(tls_addr.to_string())
                .arg("--tls-cert")
                .arg(dir.join("cert.pem"))
                .arg("--tls-key")
                .arg(dir.join("key.pem"));
        }
        let child = command
            .env_remove("RUST_LOG")
            // Every account is made from loopback, thousands of them: the
            // sign-up limit per address (5 in 10 minutes) is off. Through the
            // environment, which an older binary without the limit ignores.
            .env("GASLAMP_MAX_SIGNUPS_PER_IP", "0")
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", launch.binary.display()))?;
        let pid = child.id().context("the server exited at once")?;
        let mut server = ServerProcess {
            child,
            pid,
            addr,
            log,
            tls: tls.map(|(addr, dir)| (addr, dir.join("cert.pem"))),
            web,
        };
        server.wait_ready().await?;
        Ok(server)
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "the server exited during start-up ({status}); see {}",
                    self.log.display()
                );
            }
            if tokio::net::TcpStream::connect(self.addr).await.is_ok() {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                bail!(
                    "the server did not listen on {} within 60 s; see {}",
                    self.addr,
                    self.log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Where players connect: the TLS port (trusting the server's certificate,
    /// no session resumption) when `tls`, else the plain one.
    pub fn target(&self, tls: bool) -> anyhow::Result<Target> {
        let target = match (&self.tls, tls) {
            (_, false) => Target::from(self.addr),
            (Some((addr, cert)), true) => Target::tls(*addr, cert)?,
            (None, true) => bail!("this server was started without a TLS listener"),
        };
        Ok(Target {
            web: self.web,
            ..target
        })
    }

    /// VmRSS and VmHWM from `/proc/<pid>/status`.
    pub fn memory(&self) -> anyhow::Result<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        let field = |name: &str| -> anyhow::Result<u64> {
            let line = status
                .lines()
                .find(|l| l.starts_with(name))
                .with_context(|| format!("no {name} in /proc/{}/status", self.pid))?;
            let kib = line
                .split_whitespace()
                .nth(1)
                .context("empty memory field")?;
            Ok(kib.parse()?)
        };
        Ok(Memory {
            rss_kib: field("VmRSS:")?,
            hwm_kib: field("VmHWM:")?,
        })
    }

    /// CPU seconds (user + system) the server has used so far.
    pub fn cpu_seconds(&self) -> anyhow::Result<f64> {
        cpu_seconds(&format!("/proc/{}/stat", self.pid))
    }

    /// Threads the server runs now (workers, blocking pool, writer).
    pub fn threads(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        let line = status
            .lines()
            .find(|l| l.starts_with("Threads:"))
            .context("no Threads line")?;
        Ok(line
            .split_whitespace()
            .nth(1)
            .context("empty Threads")?
            .parse()?)
    }

    /// SIGTERM, then waits for the graceful shutdown (SIGKILL after 90 s).
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.pid.to_string())
            .status();
        match tokio::time::timeout(Duration::from_secs(90), self.child.wait()).await {
            Ok(status) => {
                let status = status?;
                if !status.success() {
                    bail!(
                        "the server exited with {status} on SIGTERM; see {}",
                        self.log.display()
                    );
                }
                Ok(())
            }
            Err(_) => {
                let _ = self.child.kill().await;
                bail!(
                    "the server did not stop within 90 s of SIGTERM; see {}",
                    self.log.display()
                )
            }
        }
    }
}

/// CPU seconds the load generator itself has used so far.
pub fn own_cpu_seconds() -> anyhow::Result<f64> {
    cpu_seconds("/proc/self/stat")
}

fn cpu_seconds(path: &str) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(path)?;
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line, in clock ticks (USER_HZ = 100).
    let after = stat.rsplit_once(')').context("malformed stat")?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    Ok(ticks as f64 / 100.0)
}

/// A loopback port nobody listens on right now.
fn free_port() -> anyhow::Result<SocketAddr> {
    let probe = TcpListener::bind("127.0.0.1:0")?;
    Ok(probe.local_addr()?)
}
