//! The session kit over the embedded moka backend, through the three adapters, on a manual
//! clock (so lifetimes and lock expiry are tested without sleeping).

use cache_testkit::moka::MokaFactory;

cache_testkit::session_suites!(MokaFactory::with_manual_clock());
