//! GMCP from the client: `Core.Hello` (its name and version, which win over
//! TTYPE's), `Core.Ping` (answered at once), and `Core.Supports.Set`, `.Add`
//! and `.Remove` (the packages it wants, kept in the connection's
//! [`Protocol`](crate::session::render::Protocol) under its caps). Whatever is
//! malformed, unknown or too long is ignored and logged at debug level; GMCP
//! the server sends is shaped by `session::render`, not here.

use super::{Conn, Input};
use crate::session::render::SupportsChange;
use crate::telnet::{mud, opt};

impl Conn {
    /// A GMCP message from the client.
    pub(super) fn gmcp(&mut self, data: &[u8]) -> Option<Input> {
        let Some(message) = mud::gmcp(data) else {
            tracing::debug!("malformed GMCP ignored");
            return None;
        };
        let json = || serde_json::from_str::<serde_json::Value>(message.json);
        let change = match message.name.to_ascii_lowercase().as_str() {
            "core.hello" => return self.hello(json()),
            "core.ping" => {
                self.subnegotiate(opt::GMCP, mud::gmcp_message("Core.Ping", ""));
                return None;
            }
            "core.supports.set" => SupportsChange::Set,
            "core.supports.add" => SupportsChange::Add,
            "core.supports.remove" => SupportsChange::Remove,
            _ => {
                tracing::debug!(message = %message.name, "unknown GMCP ignored");
                return None;
            }
        };
        match json() {
            Ok(serde_json::Value::Array(entries)) => {
                let entries: Vec<String> = entries
                    .into_iter()
                    .filter_map(|entry| match entry {
                        serde_json::Value::String(name) => Some(name),
                        _ => None,
                    })
                    .collect();
                self.protocol.change_supports(change, &entries);
            }
            _ => tracing::debug!(message = %message.name, "malformed GMCP ignored"),
        }
        None
    }

    /// `Core.Hello {"client": ..., "version": ...}`: the client's own name.
    fn hello(&mut self, json: serde_json::Result<serde_json::Value>) -> Option<Input> {
        let Ok(hello) = json else {
            tracing::debug!("malformed GMCP Core.Hello ignored");
            return None;
        };
        let client = hello.get("client").and_then(|c| c.as_str())?;
        let name = match hello.get("version").and_then(|v| v.as_str()) {
            Some(version) => format!("{client} {version}"),
            None => client.to_string(),
        };
        self.named_by_hello = true;
        self.name_client(&name)
    }
}
