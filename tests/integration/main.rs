//! Integration tests: the real server on 127.0.0.1:0 with a temporary SQLite
//! database, driven over TCP the way a telnet client would (over TLS and
//! WebSocket too), and the real binary, for the command line.

mod accounts;
mod admin;
mod backup;
mod building;
mod cli;
mod crash;
mod creation;
mod ending;
mod faults;
mod impressions;
mod items;
mod limits;
mod login;
mod npcs;
mod oplog;
mod persistence;
mod play;
mod policy;
mod protocols;
mod prune;
mod races;
mod scripts;
mod shutdown;
mod spill;
mod support;
mod talk;
mod tls;
mod web;
mod worlds;
