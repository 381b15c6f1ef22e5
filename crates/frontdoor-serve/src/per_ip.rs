//! The per-address connection limit (`max_connections_per_ip`): how many connections
//! one client address may hold at once, over all listeners and workers.
//!
//! IPv4 clients are counted per address, IPv6 clients per /64 (one host usually
//! owns a whole /64, so counting per address would let it open a connection from
//! each of its 2^64 addresses); IPv4-mapped IPv6 addresses count as IPv4. The
//! grouping is core's `proto::ClientKey`, which a rate limit per client shares.

use std::{collections::HashMap, net::IpAddr, sync::Arc};

use frontdoor_core::proto::ClientKey as IpKey;
use parking_lot::Mutex;

/// The open connections per client key, shared by every accept loop. `max == 0`
/// means no limit (and no bookkeeping).
#[derive(Clone, Debug)]
pub(super) struct PerIp {
    max: usize,
    open: Arc<Mutex<HashMap<IpKey, usize>>>,
}

impl PerIp {
    pub(super) fn new(max: usize) -> Self {
        Self {
            max,
            open: Arc::default(),
        }
    }

    /// A slot for a connection from `ip`: `Ok(None)` without a limit, `Err(())` when
    /// the address already holds `max` connections.
    pub(super) fn acquire(&self, ip: IpAddr) -> Result<Option<IpSlot>, ()> {
        if self.max == 0 {
            return Ok(None);
        }
        let key = IpKey::of(ip);
        let mut open = self.open.lock();
        let count = open.entry(key).or_insert(0);
        if *count >= self.max {
            return Err(());
        }
        *count += 1;
        Ok(Some(IpSlot {
            key,
            open: Arc::clone(&self.open),
        }))
    }
}

/// One connection's place under the per-address limit, given back on drop.
#[derive(Debug)]
pub(super) struct IpSlot {
    key: IpKey,
    open: Arc<Mutex<HashMap<IpKey, usize>>>,
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock();
        if let Some(count) = open.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn counts_per_address_and_per_ipv6_slash_64() {
        let limit = PerIp::new(2);
        let a = limit.acquire(ip("192.0.2.1")).unwrap();
        let b = limit.acquire(ip("::ffff:192.0.2.1")).unwrap();
        assert!(limit.acquire(ip("192.0.2.1")).is_err());
        assert!(limit.acquire(ip("192.0.2.2")).is_ok());
        drop(a);
        let c = limit.acquire(ip("192.0.2.1")).unwrap();
        drop((b, c));
        assert!(limit.open.lock().is_empty());

        let _x = limit.acquire(ip("2001:db8:0:1::1")).unwrap();
        let _y = limit.acquire(ip("2001:db8:0:1:ffff::2")).unwrap();
        assert!(limit.acquire(ip("2001:db8:0:1::3")).is_err());
        assert!(limit.acquire(ip("2001:db8:0:2::1")).is_ok());
    }

    #[test]
    fn zero_means_no_limit() {
        let limit = PerIp::new(0);
        for _ in 0..10 {
            assert!(limit.acquire(ip("192.0.2.1")).unwrap().is_none());
        }
    }
}
