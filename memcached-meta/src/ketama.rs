//! libmemcached's consistent hashing (`Memcached::OPT_LIBKETAMA_COMPATIBLE`, which Symfony's
//! `MemcachedAdapter::createConnection` turns on): the server a PHP process on php-memcached
//! sends a key to, so that a Rust process sharing its servers finds the key where PHP put it.

use md5::{Digest, Md5};

/// libmemcached's points on the ring per server of weight 1 (`MEMCACHED_POINTS_PER_SERVER_KETAMA`).
const POINTS_PER_SERVER: usize = 160;
/// Each MD5 digest of a point's name gives four points (`pointer_per_hash`).
const POINTS_PER_DIGEST: usize = 4;
/// The port libmemcached leaves out of a point's name.
const DEFAULT_PORT: &str = "11211";

/// The ring of libmemcached's weighted ketama distribution over servers of equal weight,
/// with MD5 as the key hash: built once, then [`owner`](Ketama::owner) is a binary search.
///
/// Each server `host:port` (in the order given, as PHP's `addServers` got them) has 160
/// points: for `i` in `0..40`, the MD5 of `"host:port-i"` (`"host-i"` on port 11211) read as
/// four little-endian `u32`s. A key belongs to the server of the first point at or after the
/// first four bytes of the key's MD5 (little-endian), wrapping to the first point.
///
/// ```
/// use memcached_meta::Ketama;
///
/// let ring = Ketama::new(["10.0.0.1:11211", "10.0.0.2:11211"]);
/// let owner = ring.owner(b"user.42");
/// assert!(owner < 2);
/// assert_eq!(ring.owner(b"user.42"), owner, "the same key, the same server");
/// ```
#[derive(Clone, Debug)]
pub struct Ketama {
    /// (point, server index), sorted as libmemcached sorts them: by point, then by index.
    points: Box<[(u32, usize)]>,
}

impl Ketama {
    /// The ring over `addresses` (`host:port`, or `host` for port 11211), in PHP's order.
    pub fn new<'a>(addresses: impl IntoIterator<Item = &'a str>) -> Ketama {
        let mut points = Vec::new();
        for (index, address) in addresses.into_iter().enumerate() {
            let name = match address.rsplit_once(':') {
                Some((host, DEFAULT_PORT)) | Some((host, "")) => host,
                _ => address,
            };
            for digest_index in 0..POINTS_PER_SERVER / POINTS_PER_DIGEST {
                let digest = Md5::digest(format!("{name}-{digest_index}").as_bytes());
                for word in digest.chunks_exact(4) {
                    let point = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
                    points.push((point, index));
                }
            }
        }
        points.sort_unstable();
        Ketama {
            points: points.into_boxed_slice(),
        }
    }

    /// The index of the server that owns `key` (0 when there are no servers).
    pub fn owner(&self, key: &[u8]) -> usize {
        let digest = Md5::digest(key);
        let hash = u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]]);
        let at = self.points.partition_point(|&(point, _)| point < hash);
        self.points
            .get(at)
            .or_else(|| self.points.first())
            .map_or(0, |&(_, server)| server)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_server_gets_its_points_and_a_share_of_the_keys() {
        let ring = Ketama::new(["127.0.0.1:11499", "127.0.0.1:11500", "127.0.0.1"]);
        assert_eq!(ring.points.len(), 3 * POINTS_PER_SERVER);
        let mut per_server = [0usize; 3];
        for i in 0..30_000 {
            per_server[ring.owner(format!("key-{i}").as_bytes())] += 1;
        }
        for count in per_server {
            assert!((7_000..13_000).contains(&count), "{per_server:?}");
        }
    }

    #[test]
    fn the_default_port_is_left_out_of_a_points_name() {
        let with_port = Ketama::new(["a:11211", "b:11211"]);
        let without = Ketama::new(["a", "b"]);
        assert_eq!(with_port.points, without.points);
        assert_ne!(Ketama::new(["a:11212", "b"]).points, without.points);
    }
}
