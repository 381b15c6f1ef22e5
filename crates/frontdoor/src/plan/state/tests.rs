//! The carry-over rule of [`SharedState::reload`].

use super::*;

const LIMITED: &str = "[[route]]\nspec = \"a::/\"\nupstream = \"http://127.0.0.1:1\"\n\
                       max_in_flight = 3\nupstream_max_connections = 2\n\
                       mirror = { upstream = \"http://127.0.0.1:2\" }\n";
const OTHER: &str = "[[route]]\nspec = \"b::/\"\nupstream = \"http://127.0.0.1:3\"\n";
const DEFAULT: &str = "[default]\nupstream = \"http://127.0.0.1:4\"\nmax_in_flight = 1\n";

fn checked(text: &str) -> Checked {
    crate::plan::Description::from_toml(text)
        .unwrap()
        .check()
        .unwrap()
}

fn state(text: &str) -> (Checked, SharedState) {
    let config = checked(text);
    let state = SharedState::new(&config).unwrap();
    (config, state)
}

fn reload(text: &str, previous: &SharedState) -> SharedState {
    SharedState::reload(&checked(text), previous).unwrap()
}

fn permits(t: &TargetState) -> usize {
    t.in_flight().unwrap().available_permits()
}

#[test]
fn parts_are_built_from_the_description() {
    let (_, state) = state(&format!("{LIMITED}{OTHER}{DEFAULT}"));
    let limited = state.route(0).unwrap();
    assert_eq!(permits(limited), 3);
    assert_eq!(limited.connection_cap(0).unwrap().max(), 2);
    assert!(limited.connection_cap(1).is_none());
    assert_eq!(
        limited.mirror().unwrap().to_string(),
        "mirror http://127.0.0.1:2 sample=1 methods=GET,HEAD max_in_flight=64 timeout=5s \
         compare=status"
    );
    let other = state.route(1).unwrap();
    assert!(other.in_flight().is_none());
    assert!(other.connection_cap(0).is_none());
    assert!(other.mirror().is_none());
    assert_eq!(permits(state.default_target().unwrap()), 1);
    assert!(state.route(2).is_none());
}

/// A reload that changes another route keeps the unchanged one's parts, with the
/// permits its requests in flight hold.
#[test]
fn unchanged_targets_keep_their_parts_and_permits() {
    let (_, old) = state(&format!("{LIMITED}{OTHER}{DEFAULT}"));
    let held = Arc::clone(old.route(0).unwrap().in_flight().unwrap())
        .try_acquire_many_owned(3)
        .unwrap();
    let changed = OTHER.replace("127.0.0.1:3", "127.0.0.1:5");
    let new = reload(&format!("{LIMITED}{changed}{DEFAULT}"), &old);
    assert!(new.route(0).unwrap().shares_parts(old.route(0).unwrap()));
    assert_eq!(permits(new.route(0).unwrap()), 0);
    assert!(!new.route(1).unwrap().shares_parts(old.route(1).unwrap()));
    assert!(new
        .default_target()
        .unwrap()
        .shares_parts(old.default_target().unwrap()));
    drop(held);
    assert_eq!(permits(new.route(0).unwrap()), 3);
}

/// Routes are recognised by their matcher, not their index: one inserted before them
/// does not make them new.
#[test]
fn routes_are_identified_by_matcher_not_index() {
    let (_, old) = state(&format!("{LIMITED}{OTHER}"));
    let inserted = "[[route]]\nspec = \"c::/\"\nupstream = \"http://127.0.0.1:6\"\n";
    let new = reload(&format!("{inserted}{OTHER}{LIMITED}"), &old);
    assert!(new.route(2).unwrap().shares_parts(old.route(0).unwrap()));
    assert!(new.route(1).unwrap().shares_parts(old.route(1).unwrap()));
    assert!(!new.route(0).unwrap().shares_parts(old.route(0).unwrap()));
    // The same text as a regex is another route.
    let regex = LIMITED.replace("spec = \"a::/\"", "regex = \"a::/\"");
    let new = reload(&format!("{regex}{OTHER}"), &old);
    assert!(!new.route(0).unwrap().shares_parts(old.route(0).unwrap()));
}

/// Any change to the target's own description, or to the forwarding headers its
/// upstreams and shadow write, starts it fresh; its old requests keep the old
/// permits.
#[test]
fn changed_targets_start_fresh() {
    let (_, old) = state(&format!("{LIMITED}{DEFAULT}"));
    let _held = Arc::clone(old.route(0).unwrap().in_flight().unwrap())
        .try_acquire_many_owned(3)
        .unwrap();
    for changed in [
        LIMITED.replace("max_in_flight = 3", "max_in_flight = 4"),
        LIMITED.replace(
            "upstream_max_connections = 2",
            "upstream_max_connections = 3",
        ),
        LIMITED.replace("127.0.0.1:2\" }", "127.0.0.1:2\", sample = 0.5 }"),
        format!("{LIMITED}timeouts = {{ connect = \"1s\" }}\n"),
    ] {
        let new = reload(&format!("{changed}{DEFAULT}"), &old);
        let limited = new.route(0).unwrap();
        assert!(!limited.shares_parts(old.route(0).unwrap()), "{changed}");
        assert!(permits(limited) >= 3, "{changed}");
        assert!(new
            .default_target()
            .unwrap()
            .shares_parts(old.default_target().unwrap()));
    }
    let via = reload(
        &format!("[server]\nvia = false\n\n{LIMITED}{DEFAULT}"),
        &old,
    );
    assert!(!via.route(0).unwrap().shares_parts(old.route(0).unwrap()));
    assert_eq!(permits(old.route(0).unwrap()), 0);
}

/// A default that appears is new; one that goes is gone.
#[test]
fn the_default_is_identified_by_being_the_default() {
    let (_, old) = state(DEFAULT);
    let new = reload(&format!("{OTHER}{DEFAULT}"), &old);
    assert!(new
        .default_target()
        .unwrap()
        .shares_parts(old.default_target().unwrap()));
    let gone = reload(OTHER, &old);
    assert!(gone.default_target().is_none());
    // A route with the default's description is not the default.
    let route = reload(
        &format!("[[route]]\nspec = \"::/\"\n{}", &DEFAULT[10..]),
        &old,
    );
    assert!(!route
        .route(0)
        .unwrap()
        .shares_parts(old.default_target().unwrap()));
}

/// The buffer budget carries over exactly when `request_buffer_total` is unchanged.
#[test]
fn the_buffer_budget_carries_over_when_its_total_is_unchanged() {
    let text = |total: &str| format!("[server]\nrequest_buffer_total = \"{total}\"\n\n{OTHER}");
    let (config, old) = state(&text("1MiB"));
    assert_eq!(old.budget().available(), 1 << 20);
    let kept = SharedState::reload(&config, &old).unwrap();
    assert!(kept.shares_budget(&old));
    let other_route = reload(&format!("{}{LIMITED}", text("1MiB")), &old);
    assert!(other_route.shares_budget(&old));
    let fresh = reload(&text("2MiB"), &old);
    assert!(!fresh.shares_budget(&old));
    assert_eq!(fresh.budget().available(), 2 << 20);
}

/// A target balanced over several upstreams has one health for every worker's
/// balancer, kept by a reload that leaves the target unchanged.
#[test]
fn balanced_targets_share_their_health() {
    let balanced = "[[route]]\nspec = \"d::/\"\n\
                    upstream = [\"http://127.0.0.1:7\", \"http://127.0.0.1:8\"]\n";
    let (_, old) = state(&format!("{balanced}{OTHER}"));
    let health = old.route(0).unwrap().balance_health().unwrap();
    assert_eq!(health.ejected(), 0);
    assert!(old.route(1).unwrap().balance_health().is_none());
    let changed = OTHER.replace("127.0.0.1:3", "127.0.0.1:5");
    let new = reload(&format!("{balanced}{changed}"), &old);
    assert!(new
        .route(0)
        .unwrap()
        .balance_health()
        .unwrap()
        .ptr_eq(health));
}
