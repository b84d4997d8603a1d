//! Tells the integration tests which backends this build can run, so that a
//! variant without its services shows as *ignored*, never as passed:
//! `cfg(postgres_tests)` when `TEST_DATABASE_URL` is set, `cfg(redis_tests)`
//! when `TEST_REDIS_URL` is set. Changing either variable rebuilds the tests.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(postgres_tests)");
    println!("cargo::rustc-check-cfg=cfg(redis_tests)");
    println!("cargo::rerun-if-changed=build.rs");
    for (var, cfg) in [
        ("TEST_DATABASE_URL", "postgres_tests"),
        ("TEST_REDIS_URL", "redis_tests"),
    ] {
        println!("cargo::rerun-if-env-changed={var}");
        if std::env::var(var).is_ok_and(|v| !v.is_empty()) {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
}
