//! The file descriptors an upgrade hands from one process image to the next:
//! made inheritable (close-on-exec cleared) before the `execve`, and taken
//! back as sockets and a state file after it.
//!
//! This is the one place outside `telnet/mccp.rs` that may use `unsafe`: a
//! descriptor inherited across `execve` arrives as a bare number, and only
//! `from_raw_fd` makes it a socket again. Every number is checked to be open
//! (and owned by nothing else in this process) before it is taken.
#![allow(unsafe_code)]

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use rustix::io::{FdFlags, fcntl_getfd, fcntl_setfd};

/// Lets `fd` survive the coming `execve` (clears close-on-exec).
pub fn keep_across_exec(fd: RawFd) -> io::Result<()> {
    // SAFETY: `fd` is a descriptor this process holds open for the whole
    // upgrade (a listener, or a frozen connection whose socket stays alive
    // until the image is replaced); it is only borrowed for the call.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    fcntl_setfd(fd, FdFlags::empty())?;
    Ok(())
}

/// Puts close-on-exec back on `fd` (after a failed `execve`, or once an
/// inherited descriptor is taken, so later children do not inherit it).
pub fn close_on_exec(fd: impl AsFd) -> io::Result<()> {
    fcntl_setfd(fd, FdFlags::CLOEXEC)?;
    Ok(())
}

/// [`close_on_exec`] for a descriptor this image holds by number.
pub fn close_on_exec_raw(fd: RawFd) -> io::Result<()> {
    // SAFETY: as in `keep_across_exec`: held open by this process, borrowed
    // for the call only.
    close_on_exec(unsafe { BorrowedFd::borrow_raw(fd) })
}

/// Checks that a number the state file names is an open descriptor (and
/// not a standard stream), and puts close-on-exec back on it.
pub fn check_inherited(fd: RawFd) -> io::Result<()> {
    if fd < 3 {
        return Err(io::Error::other(format!(
            "descriptor {fd} is a standard stream, not a handed-over one"
        )));
    }
    // SAFETY: only borrowed to ask whether the number is open and to set
    // its flag; a closed number fails the first call.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    fcntl_getfd(borrowed)?;
    close_on_exec(borrowed)
}

/// A copy (`dup`) of an inherited descriptor, leaving the original open.
pub fn copy_inherited(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: `check_inherited` found the number open, and nothing closes
    // it before `take_inherited` takes it; only borrowed for the `dup`.
    unsafe { BorrowedFd::borrow_raw(fd) }.try_clone_to_owned()
}

/// Takes ownership of a descriptor inherited across `execve`. Each number
/// must be taken at most once, after `check_inherited`.
pub fn take_inherited(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: only borrowed to ask whether the number is open.
    fcntl_getfd(unsafe { BorrowedFd::borrow_raw(fd) })?;
    // SAFETY: the number is open, was named in the state file the old image
    // wrote for us, and nothing in this process owns it (the state is read
    // once, at start, and each number is taken once, by `Inherited`).
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    close_on_exec(&owned)?;
    Ok(owned)
}

/// Writes the state the new image reads into an anonymous file whose
/// descriptor survives `execve` (a pipe would stall past its buffer).
pub fn state_file(bytes: &[u8]) -> io::Result<File> {
    let fd = rustix::fs::memfd_create("gaslamp-upgrade", rustix::fs::MemfdFlags::empty())?;
    let mut file = File::from(fd);
    file.write_all(bytes)?;
    file.seek(SeekFrom::Start(0))?;
    Ok(file)
}

/// Reads the state file the old image left at `fd`, and closes it.
pub fn read_state(fd: RawFd) -> io::Result<Vec<u8>> {
    check_inherited(fd)?;
    let mut file = File::from(take_inherited(fd)?);
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}
