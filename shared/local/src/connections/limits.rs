//! How many connections may be open at once: all clients together, and each client.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use ipnet::IpNet;

/// File descriptors kept out of the connection cap for everything else the server opens: the
/// database and its WAL, the outbox files, the SMTP relay, outgoing HTTPS, the runtime's own.
const RESERVED_FILES: u64 = 256;

/// One client as the per-client cap counts it: an IPv4 address, or an IPv6 /64 (what one
/// subscriber line is usually given, so one client can take any address in it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// An IPv4 address (IPv4-mapped IPv6 included).
    V4(Ipv4Addr),
    /// The first 64 bits of an IPv6 address.
    V6Prefix(u64),
}

impl ClientKey {
    /// The client an address belongs to.
    pub fn of(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => Self::V4(v4),
            IpAddr::V6(v6) => Self::V6Prefix((u128::from(v6) >> 64) as u64),
        }
    }
}

/// The most connections open at once: `asked`, or what the open-file limit leaves once
/// [`RESERVED_FILES`] are kept; asking for more than that is an error naming the setting.
pub fn connection_cap(
    file_limit: u64,
    asked: Option<NonZeroUsize>,
) -> Result<usize, TooManyConnections> {
    let room = file_limit - RESERVED_FILES.min(file_limit / 2);
    let room = usize::try_from(room).unwrap_or(usize::MAX);
    match asked {
        None => Ok(room),
        Some(n) if n.get() <= room => Ok(n.get()),
        Some(asked) => Err(TooManyConnections {
            asked,
            file_limit,
            room,
        }),
    }
}

/// `TELMAIL_MAX_CONNECTIONS` asks for more connections than the open-file limit leaves room for.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "TELMAIL_MAX_CONNECTIONS ({asked}) is more than the open-file limit ({file_limit}) \
     leaves for connections ({room})"
)]
pub struct TooManyConnections {
    pub asked: NonZeroUsize,
    pub file_limit: u64,
    /// What the limit leaves.
    pub room: usize,
}

/// The caps and the connections open now.
#[derive(Debug)]
pub struct ConnectionLimits {
    total: usize,
    per_client: usize,
    trusted: Vec<IpNet>,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_client: HashMap<ClientKey, usize>,
}

/// One admitted connection: its place is given back when it is dropped.
#[derive(Debug)]
pub struct Slot {
    limits: Arc<ConnectionLimits>,
    client: Option<ClientKey>,
}

impl ConnectionLimits {
    /// `total` connections at once, `per_client` for each client but the `trusted` proxies.
    pub fn new(total: usize, per_client: NonZeroUsize, trusted: Vec<IpNet>) -> Arc<Self> {
        Arc::new(Self {
            total,
            per_client: per_client.get(),
            trusted,
            open: Mutex::new(Open::default()),
        })
    }

    /// A place for a connection from `ip`, or `None` when it would go over a cap.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        let ip = ip.to_canonical();
        let client = (!self.trusted.iter().any(|net| net.contains(&ip))).then(|| ClientKey::of(ip));
        let mut open = self.lock();
        if open.total >= self.total {
            return None;
        }
        if let Some(key) = client {
            let held = open.by_client.entry(key).or_default();
            if *held >= self.per_client {
                return None;
            }
            *held += 1;
        }
        open.total += 1;
        Some(Slot {
            limits: self.clone(),
            client,
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.lock().total
    }

    /// The counts; a panic elsewhere while holding them left them whole (each change is one
    /// statement), so a poisoned lock is taken as it is.
    fn lock(&self) -> MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.limits.lock();
        open.total -= 1;
        if let Some(key) = self.client {
            if let Some(held) = open.by_client.get_mut(&key) {
                *held -= 1;
                if *held == 0 {
                    open.by_client.remove(&key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(total: usize, per_client: usize, trusted: &[&str]) -> Arc<ConnectionLimits> {
        ConnectionLimits::new(
            total,
            NonZeroUsize::new(per_client).unwrap(),
            trusted.iter().map(|t| t.parse().unwrap()).collect(),
        )
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_ipv6_client_counts_by_its_64_and_ipv4_by_address() {
        let caps = limits(100, 2, &[]);
        let _a = caps.admit(ip("2001:db8:1:2::1")).unwrap();
        let _b = caps.admit(ip("2001:db8:1:2:ffff::9")).unwrap();
        assert!(caps.admit(ip("2001:db8:1:2:abcd::1")).is_none(), "same /64");
        assert!(caps.admit(ip("2001:db8:1:3::1")).is_some(), "another /64");
        let _c = caps.admit(ip("192.0.2.1")).unwrap();
        let _d = caps.admit(ip("::ffff:192.0.2.1")).unwrap();
        assert!(
            caps.admit(ip("192.0.2.1")).is_none(),
            "mapped IPv4 is the same client"
        );
        assert!(
            caps.admit(ip("192.0.2.2")).is_some(),
            "another IPv4 address"
        );
    }

    #[test]
    fn a_closed_connection_gives_its_place_back() {
        let caps = limits(2, 1, &[]);
        let first = caps.admit(ip("192.0.2.1")).unwrap();
        assert!(caps.admit(ip("192.0.2.1")).is_none());
        drop(first);
        let _again = caps.admit(ip("192.0.2.1")).unwrap();
        let _other = caps.admit(ip("192.0.2.2")).unwrap();
        assert!(caps.admit(ip("192.0.2.3")).is_none(), "the total cap");
        assert_eq!(caps.open(), 2);
    }

    #[test]
    fn trusted_proxies_are_capped_only_by_the_total() {
        let caps = limits(3, 1, &["10.0.0.0/8"]);
        let held: Vec<_> = (0..3)
            .map(|_| caps.admit(ip("10.1.2.3")).unwrap())
            .collect();
        assert!(caps.admit(ip("10.1.2.3")).is_none());
        assert_eq!(held.len(), 3);
    }

    #[test]
    fn the_total_cap_leaves_room_under_the_file_limit() {
        assert_eq!(connection_cap(1024, None).unwrap(), 768);
        assert_eq!(connection_cap(200, None).unwrap(), 100);
        assert_eq!(connection_cap(1024, NonZeroUsize::new(500)).unwrap(), 500);
        let err = connection_cap(1024, NonZeroUsize::new(1000)).unwrap_err();
        assert_eq!(err.room, 768);
        assert_eq!(
            err.to_string(),
            "TELMAIL_MAX_CONNECTIONS (1000) is more than the open-file limit (1024) leaves for connections (768)"
        );
    }
}
