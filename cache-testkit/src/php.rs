//! Running PHP in interop tests: Debian's `php-cli` with Symfony Cache over the test servers,
//! so a test asserts on what PHP itself writes and reads.

use std::process::{Command, Stdio};

/// PHP that connects `$redis` to the server(s) of `url`: phpredis' `Redis` for one server,
/// `RedisCluster` for a cluster.
///
/// # Panics
///
/// For a Redis URL without `host:port`.
pub fn redis_connection(url: &str) -> String {
    if let Some(nodes) = url.strip_prefix("redis+cluster://") {
        let seeds: Vec<String> = nodes.split(',').map(|node| format!("'{node}'")).collect();
        return format!("$redis = new RedisCluster(null, [{}]);", seeds.join(", "));
    }
    let address = url
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .expect("host:port");
    let (host, port) = address.rsplit_once(':').expect("host:port");
    format!("$redis = new Redis(); $redis->connect('{host}', {port});")
}

/// PHP that puts Symfony's adapter for the server(s) of `url` in `$pool`: `RedisAdapter` on
/// Redis, `MemcachedAdapter` (over `createConnection`, the servers in `url`'s order) on
/// memcached, in `namespace`, with `DefaultMarshaller` on igbinary or `serialize()`.
pub fn symfony_pool(url: &str, namespace: &str, igbinary: bool) -> String {
    let marshaller = format!(
        "new DefaultMarshaller({})",
        if igbinary { "true" } else { "false" }
    );
    if let Some(servers) = url.strip_prefix("memcache://") {
        let dsns: Vec<String> = servers
            .split(',')
            .map(|server| format!("'memcached://{server}'"))
            .collect();
        return format!(
            "$client = MemcachedAdapter::createConnection([{}]);
            $pool = new MemcachedAdapter($client, '{namespace}', 0, {marshaller});",
            dsns.join(", ")
        );
    }
    let connect = redis_connection(url);
    format!("{connect} $pool = new RedisAdapter($redis, '{namespace}', 0, {marshaller});")
}

/// The autoloaders and `use` lines of Symfony Cache, Doctrine Cache and PSR-16, for a script.
pub const SYMFONY_PRELUDE: &str = r"
require '/usr/share/php/Symfony/Component/Cache/autoload.php';
require '/usr/share/php/Doctrine/Common/Cache/autoload.php';
require '/usr/share/php/Psr/SimpleCache/autoload.php';
use Symfony\Component\Cache\Adapter\MemcachedAdapter;
use Symfony\Component\Cache\Adapter\RedisAdapter;
use Symfony\Component\Cache\DoctrineProvider;
use Symfony\Component\Cache\Psr16Cache;
use Symfony\Component\Cache\Marshaller\DefaultMarshaller;
use Symfony\Contracts\Cache\ItemInterface;
";

/// Runs `script` (PHP code, without `<?php`) with the `php` binary and `ini` settings
/// (`name=value`); what it printed.
///
/// # Panics
///
/// When PHP does not start, fails, or writes anything to stderr (a notice or warning too).
pub fn run(php: &str, ini: &[&str], script: &str) -> String {
    let mut args = vec!["-d", "display_errors=stderr"];
    for setting in ini {
        args.extend(["-d", setting]);
    }
    args.extend(["-r", script]);
    let output = Command::new(php)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start php")
        .wait_with_output()
        .expect("php ran");
    assert!(
        output.status.success() && output.stderr.is_empty(),
        "php failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("php printed text")
}
