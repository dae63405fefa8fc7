<?php
// The PHP peer of the criterion groups: Symfony Cache 5.4's adapters (ArrayAdapter in memory,
// RedisAdapter and MemcachedAdapter on the test servers when their URLs are set), Psr16Cache
// and Doctrine's DoctrineProvider over them, timing the same workloads as benches/src/harness.rs
// (1,000 keys `user.000000`.. walked in order, 100-byte values, blocks of 100 keys, 1 KiB
// sessions with a 1440 s lifetime), under the same group and row names, so bench-summary can
// put the project next to PHP.
//
//   php benches/php/peer.php [--quick] [--runs N] [--out FILE]
//
// Each row is timed over a fixed number of iterations per run; what is printed (and written
// to FILE as JSON, default target/php-peer.json) is the median over the runs, in ns per
// operation. --quick does a few iterations once: for CI, so the script cannot rot.

require '/usr/share/php/Symfony/Component/Cache/autoload.php';
require '/usr/share/php/Doctrine/Common/Cache/autoload.php';
require '/usr/share/php/Psr/SimpleCache/autoload.php';

use Symfony\Component\Cache\Adapter\AdapterInterface;
use Symfony\Component\Cache\Adapter\ArrayAdapter;
use Symfony\Component\Cache\Adapter\MemcachedAdapter;
use Symfony\Component\Cache\Adapter\RedisAdapter;
use Symfony\Component\Cache\DoctrineProvider;
use Symfony\Component\Cache\Psr16Cache;

const ENTRIES = 1000;
const BATCH = 100;
const TTL = 3600;
const SESSION_LIFETIME = 1440;

$options = getopt('', ['quick', 'runs:', 'out:']);
$quick = isset($options['quick']);
$runs = $quick ? 1 : (int) ($options['runs'] ?? 3);
$out = $options['out'] ?? 'target/php-peer.json';

$keys = [];
$missing = [];
$sessions = [];
for ($i = 0; $i < ENTRIES; $i++) {
    $keys[] = sprintf('user.%06d', $i);
    $missing[] = sprintf('absent.%06d', $i);
    $sessions[] = sprintf('benchsession%020d', $i);
}
$value = str_repeat('v', 100);
$session = str_repeat('s', 1024);

/** The adapters to time: the backend name of the Rust groups they sit beside, and the pool. */
function adapters(): array
{
    $adapters = ['memory' => fn () => new ArrayAdapter()];
    if ($url = getenv('CACHE_TEST_REDIS_URL')) {
        $adapters['redis'] = function () use ($url) {
            $redis = RedisAdapter::createConnection(preg_replace('#/\d+$#', '', $url));
            return new RedisAdapter($redis, 'phppeer');
        };
    }
    if ($url = getenv('CACHE_TEST_MEMCACHED_URL')) {
        $adapters['memcached'] = function () use ($url) {
            $servers = array_map(fn ($s) => "memcached://$s", explode(',', substr($url, strlen('memcache://'))));
            return new MemcachedAdapter(MemcachedAdapter::createConnection($servers), 'phppeer');
        };
    }
    return $adapters;
}

/** ns per call of $op(i) over $n calls. */
function time_op(callable $op, int $n): float
{
    $start = hrtime(true);
    for ($i = 0; $i < $n; $i++) {
        $op($i);
    }
    return (hrtime(true) - $start) / $n;
}

function median(array $xs): float
{
    sort($xs);
    return $xs[intdiv(count($xs), 2)];
}

$results = [];
foreach (adapters() as $backend => $make) {
    /** @var AdapterInterface $pool */
    $pool = $make();
    $psr16 = new Psr16Cache($pool);
    $doctrine = new DoctrineProvider($pool);
    $doctrine->setNamespace('d');
    $psr16->setMultiple(array_fill_keys($keys, $value), TTL);
    $doctrine->saveMultiple(array_fill_keys($keys, $value), TTL);
    $at = fn (int $i) => $i % ENTRIES;
    $block = fn (int $i) => array_slice($keys, ($i % (ENTRIES / BATCH)) * BATCH, BATCH);
    $single = $quick ? 50 : ($backend === 'memory' ? 200000 : 20000);
    $batched = $quick ? 5 : ($backend === 'memory' ? 5000 : 2000);

    $rows = [
        'get_hit' => [
            'PSR-6 Pool' => [$single, fn ($i) => $pool->getItem($keys[$at($i)])->get()],
            'PSR-16 Cache' => [$single, fn ($i) => $psr16->get($keys[$at($i)])],
            'Doctrine CacheProvider' => [$single, fn ($i) => $doctrine->fetch($keys[$at($i)])],
        ],
        'get_miss' => [
            'PSR-6 Pool' => [$single, fn ($i) => $pool->getItem($missing[$at($i)])->isHit()],
            'PSR-16 Cache' => [$single, fn ($i) => $psr16->get($missing[$at($i)])],
            'Doctrine CacheProvider' => [$single, fn ($i) => $doctrine->fetch($missing[$at($i)])],
        ],
        'set' => [
            'PSR-6 Pool' => [$single, function ($i) use ($pool, $keys, $at, $value) {
                $item = $pool->getItem($keys[$at($i)]);
                $pool->save($item->set($value)->expiresAfter(TTL));
            }],
            'PSR-16 Cache' => [$single, fn ($i) => $psr16->set($keys[$at($i)], $value, TTL)],
            'Doctrine CacheProvider' => [$single, fn ($i) => $doctrine->save($keys[$at($i)], $value, TTL)],
        ],
        'get_many_100' => [
            'PSR-6 Pool' => [$batched, function ($i) use ($pool, $block) {
                foreach ($pool->getItems($block($i)) as $item) {
                    $item->get();
                }
            }],
            'PSR-16 Cache' => [$batched, function ($i) use ($psr16, $block) {
                foreach ($psr16->getMultiple($block($i)) as $v) {
                }
            }],
            'Doctrine CacheProvider' => [$batched, fn ($i) => $doctrine->fetchMultiple($block($i))],
        ],
        'set_many_100' => [
            'PSR-16 Cache' => [$batched, fn ($i) => $psr16->setMultiple(array_fill_keys($block($i), $value), TTL)],
            'Doctrine CacheProvider' => [$batched, fn ($i) => $doctrine->saveMultiple(array_fill_keys($block($i), $value), TTL)],
        ],
        'save_deferred_100_commit' => [
            'PSR-6 Pool' => [$batched, function ($i) use ($pool, $block, $value) {
                foreach ($pool->getItems($block($i)) as $item) {
                    $pool->saveDeferred($item->set($value)->expiresAfter(TTL));
                }
                $pool->commit();
            }],
        ],
        'session_cycle' => [
            // The guide's handlers: read, then write the data back with the session lifetime.
            'session handler over PSR-6 Pool' => [$single, function ($i) use ($pool, $sessions, $at, $session) {
                $item = $pool->getItem('sess_' . $sessions[$at($i)]);
                $data = $item->isHit() ? $item->get() : $session;
                $pool->save($item->set($data)->expiresAfter(SESSION_LIFETIME));
            }],
            'session handler over PSR-16 Cache' => [$single, function ($i) use ($psr16, $sessions, $at, $session) {
                $key = 'sess_' . $sessions[$at($i)];
                $psr16->set($key, $psr16->get($key) ?? $session, SESSION_LIFETIME);
            }],
            'session handler over Doctrine CacheProvider' => [$single, function ($i) use ($doctrine, $sessions, $at, $session) {
                $key = 'sess_' . $sessions[$at($i)];
                $doctrine->save($key, $doctrine->fetch($key) ?: $session, SESSION_LIFETIME);
            }],
        ],
    ];
    foreach ($rows as $group => $ops) {
        foreach ($ops as $label => [$n, $op]) {
            time_op($op, min($n, 1000)); // warm-up
            $times = [];
            for ($run = 0; $run < $runs; $run++) {
                $times[] = time_op($op, $n);
            }
            $results["$backend/$group"][$label] = median($times);
            printf("%-34s %-46s %12.1f ns\n", "$backend/$group", $label, median($times));
        }
    }
}

// The in-memory rows stand beside both embedded backends' groups.
foreach ($results as $group => $row) {
    if (str_starts_with($group, 'memory/')) {
        $results['moka/' . substr($group, strlen('memory/'))] = $row;
    }
}

$report = [
    'php' => PHP_VERSION,
    'symfony_cache' => '5.4',
    'igbinary' => phpversion('igbinary') ?: null,
    'runs' => $runs,
    'rows' => $results,
];
@mkdir(dirname($out), 0777, true);
file_put_contents($out, json_encode($report, JSON_PRETTY_PRINT) . "\n");
