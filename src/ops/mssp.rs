//! `gaslamp mssp`: a running server's MSSP table, asked for the way a MUD
//! listing's crawler asks — over its telnet port, with `IAC DO MSSP` — and
//! decoded from the subnegotiation it answers with, so what it prints is what
//! every crawler sees, through the server's real protocol path.
//!
//! It is the one operator task that talks to a running server rather than to
//! the database file; it reads, and changes nothing.

use std::time::Duration;

use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_util::codec::FramedRead;

use super::OpsError;
use crate::telnet::{self, Input, Output, TelnetCodec, Verb, opt};

/// How long the server has to accept the connection, and then to answer.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// An MSSP table: each variable with its values, in the order sent.
pub type Table = Vec<(String, Vec<String>)>;

/// Connects to `addr` (`host:port`), asks for the MSSP table and returns it.
pub async fn query(addr: &str, patience: Duration) -> Result<Table, OpsError> {
    let unreachable =
        |err: std::io::Error| OpsError::Invalid(format!("cannot reach {addr}: {err}"));
    let stream = tokio::time::timeout(patience, TcpStream::connect(addr))
        .await
        .map_err(|_| OpsError::Invalid(format!("{addr} did not accept within {patience:?}")))?
        .map_err(unreachable)?;
    let (read, mut write) = stream.into_split();
    let ask = telnet::command_bytes(Output::Negotiate(Verb::Do, opt::MSSP));
    write.write_all(&ask).await.map_err(unreachable)?;
    let mut inputs = FramedRead::new(read, TelnetCodec::new());
    let answer = async {
        while let Some(input) = inputs.next().await {
            match input {
                Ok(Input::Subnegotiation { option, data }) if option == opt::MSSP => {
                    return Ok(telnet::mud::mssp_table(&data));
                }
                Ok(Input::SubnegotiationTooLong { option }) if option == opt::MSSP => {
                    return Err(OpsError::Invalid(format!(
                        "{addr} sent an MSSP table over {} bytes",
                        telnet::MAX_SUBNEG
                    )));
                }
                // The greeting, the other offers: not what was asked.
                Ok(_) => {}
                Err(err) => return Err(unreachable(err)),
            }
        }
        Err(OpsError::Invalid(format!(
            "{addr} closed the connection without an MSSP table"
        )))
    };
    let table = tokio::time::timeout(patience, answer)
        .await
        .map_err(|_| OpsError::Invalid(format!("{addr} sent no MSSP table within {patience:?}")))?;
    // A crawler leaves at once; the server sees the client close.
    let _ = write.shutdown().await;
    table
}

/// The table as `gaslamp mssp` prints it: `VARIABLE<TAB>value`, a line for
/// each value, as the plain-text `MSSP-REQUEST` reply lists them.
pub fn print(table: &Table) -> String {
    let mut text = String::new();
    for (name, values) in table {
        for value in values {
            text.push_str(name);
            text.push('\t');
            text.push_str(value);
            text.push('\n');
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_prints_a_line_for_each_value() {
        let table = vec![
            ("NAME".to_string(), vec!["Lanternfall".to_string()]),
            ("PORT".to_string(), vec!["4000".into(), "4001".into()]),
        ];
        assert_eq!(print(&table), "NAME\tLanternfall\nPORT\t4000\nPORT\t4001\n");
    }
}
