//! Socket options a BGP session needs beyond what `socket2` offers, on Linux:
//!
//! - TCP MD5 signatures (RFC 2385) with `TCP_MD5SIG`, per peer address, on both the listening
//!   and the connecting socket;
//! - GTSM (RFC 5082 §3): the minimum TTL / hop limit of received packets, `IP_MINTTL` and
//!   `IPV6_MINHOPCOUNT`;
//! - the octets a connection has not yet had acknowledged (`SIOCOUTQ`), so that a session
//!   that ends with data its peer never took is reset rather than left to the kernel;
//! - the daemon's descriptor limit (`RLIMIT_NOFILE`), raised to the hard limit at start.
//!
//! This is the one module of tern that uses `unsafe`: each call passes a properly sized,
//! initialised `#[repr(C)]` value to `setsockopt(2)` or `ioctl(2)` on a descriptor the caller
//! owns, or to `getrlimit(2)` / `setrlimit(2)`.
#![allow(unsafe_code)]

use std::io;
use std::mem::size_of;
use std::net::IpAddr;
use std::os::fd::{AsFd, AsRawFd};

/// `IPV6_MINHOPCOUNT` from linux/in6.h (not exported by every libc version).
const IPV6_MINHOPCOUNT: libc::c_int = 73;
/// `TCP_MD5SIG_MAXKEYLEN` from linux/tcp.h.
const TCP_MD5SIG_MAXKEYLEN: usize = 80;

/// `struct tcp_md5sig` from linux/tcp.h.
#[repr(C)]
struct TcpMd5Sig {
    addr: libc::sockaddr_storage,
    flags: u8,
    prefixlen: u8,
    keylen: u16,
    ifindex: libc::c_int,
    key: [u8; TCP_MD5SIG_MAXKEYLEN],
}

fn setsockopt<T>(
    fd: &impl AsFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    let len = libc::socklen_t::try_from(size_of::<T>())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `value` points to an initialised `T` of `len` bytes that outlives the call; the
    // kernel copies it and keeps no pointer. `fd` is an open socket owned by the caller.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_fd().as_raw_fd(),
            level,
            name,
            std::ptr::from_ref(value).cast::<libc::c_void>(),
            len,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Installs (or, with `key` empty, removes) the TCP MD5 key for `peer` on a socket.
pub fn set_md5(fd: &impl AsFd, peer: IpAddr, key: &[u8]) -> io::Result<()> {
    if key.len() > TCP_MD5SIG_MAXKEYLEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "TCP MD5 key longer than 80 octets",
        ));
    }
    // SAFETY: sockaddr_storage is plain data; all-zero is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    match peer {
        IpAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::sa_family_t::try_from(libc::AF_INET).unwrap_or_default(),
                sin_port: 0,
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe {
                std::ptr::from_mut(&mut storage)
                    .cast::<libc::sockaddr_in>()
                    .write(sin)
            };
        }
        IpAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::sa_family_t::try_from(libc::AF_INET6).unwrap_or_default(),
                sin6_port: 0,
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: a.octets(),
                },
                sin6_scope_id: 0,
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe {
                std::ptr::from_mut(&mut storage)
                    .cast::<libc::sockaddr_in6>()
                    .write(sin6)
            };
        }
    }
    let mut sig = TcpMd5Sig {
        addr: storage,
        flags: 0,
        prefixlen: 0,
        keylen: u16::try_from(key.len()).unwrap_or(0),
        ifindex: 0,
        key: [0; TCP_MD5SIG_MAXKEYLEN],
    };
    if let Some(dst) = sig.key.get_mut(..key.len()) {
        dst.copy_from_slice(key);
    }
    setsockopt(fd, libc::IPPROTO_TCP, libc::TCP_MD5SIG, &sig)
}

/// Sets the minimum TTL (IPv4) or hop limit (IPv6) accepted on a socket (GTSM).
pub fn set_min_ttl(fd: &impl AsFd, v6: bool, min: u8) -> io::Result<()> {
    let v = libc::c_int::from(min);
    if v6 {
        setsockopt(fd, libc::IPPROTO_IPV6, IPV6_MINHOPCOUNT, &v)
    } else {
        setsockopt(fd, libc::IPPROTO_IP, libc::IP_MINTTL, &v)
    }
}

/// Octets written to a TCP socket and not yet acknowledged by the peer (`SIOCOUTQ`: sent
/// and unsent; a FIN counts as one).
pub fn unsent(fd: &impl AsFd) -> io::Result<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: SIOCOUTQ (TIOCOUTQ) writes one int through the pointer, which points to `n`;
    // `fd` is an open socket owned by the caller.
    let rc = unsafe {
        libc::ioctl(
            fd.as_fd().as_raw_fd(),
            libc::TIOCOUTQ,
            std::ptr::from_mut(&mut n),
        )
    };
    if rc == 0 {
        Ok(usize::try_from(n).unwrap_or(0))
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Raises the soft limit on open descriptors (`RLIMIT_NOFILE`) to the hard limit; returns
/// the soft limit before and after.
pub fn raise_nofile() -> io::Result<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` through the pointer, which points to `lim`.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, std::ptr::from_mut(&mut lim)) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let before = lim.rlim_cur;
    if lim.rlim_cur < lim.rlim_max {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: setrlimit reads one initialised `rlimit` through the pointer.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, std::ptr::from_ref(&lim)) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok((before, lim.rlim_cur))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_apply_on_a_real_socket() {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        set_min_ttl(&s, false, 254).unwrap();
        set_md5(&s, "127.0.0.2".parse().unwrap(), b"secret").unwrap();
        set_md5(&s, "127.0.0.2".parse().unwrap(), b"").unwrap();
        assert!(set_md5(&s, "127.0.0.2".parse().unwrap(), &[b'x'; 81]).is_err());
        let s6 = socket2::Socket::new(socket2::Domain::IPV6, socket2::Type::STREAM, None).unwrap();
        set_min_ttl(&s6, true, 255).unwrap();
    }

    #[test]
    fn unsent_octets_of_a_connection() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (_s, _) = l.accept().unwrap();
        assert_eq!(unsent(&c).unwrap(), 0);
    }

    #[test]
    fn descriptor_limit_is_the_hard_limit() {
        let (before, after) = raise_nofile().unwrap();
        assert!(after >= before);
        assert_eq!(raise_nofile().unwrap(), (after, after));
    }
}
