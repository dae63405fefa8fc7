//! Running a model-based property test: what every kit's model test shares.

use std::fmt;
use std::future::Future;

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};

use crate::store::ModelOptions;

/// Runs `check` on `options.cases` sequences drawn from `strategy`, each on one
/// current-thread tokio runtime, and panics with the shrunk failing sequence if one fails.
pub(crate) fn run_sequences<S, Fut>(
    subject: &str,
    options: &ModelOptions,
    strategy: S,
    check: impl Fn(S::Value) -> Fut,
) where
    S: Strategy,
    S::Value: fmt::Debug,
    Fut: Future<Output = Result<(), TestCaseError>>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime for the property test");
    let mut runner = TestRunner::new(Config {
        cases: options.cases,
        failure_persistence: None,
        ..Config::default()
    });
    match runner.run(&strategy, |case| runtime.block_on(check(case))) {
        Ok(()) => {}
        Err(TestError::Fail(reason, case)) => {
            panic!(
                "the {subject} disagrees with the model: {reason}\nminimal failing case:\n{case:?}"
            )
        }
        Err(TestError::Abort(reason)) => panic!("the property test aborted: {reason}"),
    }
}

/// A failed call, as a property-test failure.
pub(crate) fn call_failed(err: impl fmt::Display) -> TestCaseError {
    TestCaseError::fail(format!("a call failed: {err}"))
}
