//! Tests of route names: the key, its errors (with lines) and the route table.

use frontdoor::plan::{Description, Route};

use super::{errors, parse};
use crate::{
    ops::Metrics,
    stack::{plan, Built, Builtins},
};

#[test]
fn a_name_is_the_route_label() {
    let config = parse(
        "[[route]]\nname = \"api.v1\"\nspec = \"::/api\"\nupstream = \"http://127.0.0.1:1\"\n\n\
         [[route]]\nspec = \"::/\"\nupstream = \"http://127.0.0.1:1\"\n",
    )
    .unwrap();
    let routes = &config.plan.routes;
    assert_eq!(routes[0].name.as_deref(), Some("api.v1"));
    assert_eq!(routes[0].label(), "api.v1");
    assert_eq!(routes[1].name, None);
    assert_eq!(routes[1].label(), "route[1]");

    // The same route in code.
    let text = "[[route]]\nname = \"api\"\nspec = \"::/api\"\nupstream = \"http://127.0.0.1:1\"\n";
    assert_eq!(
        Description::from_toml(text).unwrap(),
        Description::new().route(Route::new("::/api", "http://127.0.0.1:1").name("api"))
    );
}

#[test]
fn name_errors_name_the_key_and_line() {
    let src = r#"[[route]]
name = "api"
spec = "::/a"
upstream = "http://127.0.0.1:1"

[[route]]
name = "a b"
spec = "::/b"
upstream = "http://127.0.0.1:1"

[[route]]
name = ""
spec = "::/c"
upstream = "http://127.0.0.1:1"

[[route]]
name = "default"
spec = "::/d"
upstream = "http://127.0.0.1:1"

[[route]]
spec = "::/e"
name = "api"
upstream = "ftp://h"

[[route]]
name = "not_found"
spec = "::/f"
upstream = "http://127.0.0.1:1"

[default]
name = "fallback"
upstream = "builtin:echo"
"#;
    assert_eq!(
        errors(src),
        [
            "line 7: route[1].name: a name is one or more letters, digits, '-', '_' or '.', got \"a b\"",
            "line 12: route[2].name: a name is one or more letters, digits, '-', '_' or '.', got \"\"",
            "line 17: route[3].name: \"default\" is the label of the [default]",
            "line 23: route[4].name: \"api\" is already the name of route[0]",
            "line 24: route[4].upstream: scheme `ftp` is not supported (http, https)",
            "line 27: route[5].name: \"not_found\" is the label of the [not_found] answer",
            "line 32: default.name: unknown field `name`: the [default] is named \"default\"",
        ]
    );
}

#[test]
fn the_table_shows_each_label() {
    let config = parse(
        "[[route]]\nname = \"api\"\nspec = \"::/api\"\nupstream = \"http://127.0.0.1:1\"\n\n\
         [[route]]\nspec = \"::/\"\nupstream = \"http://127.0.0.1:2\"\n\n\
         [default]\nupstream = \"builtin:echo\"\n",
    )
    .unwrap();
    let metrics = Metrics::new();
    let built = Built::new(
        &plan(&config, &Builtins::new(), &metrics, None).unwrap(),
        &metrics,
    );
    assert_eq!(
        built.table(),
        "index  name      spec       upstream             relocate  filter  mirror\n\
         0      api       ::/api     http://127.0.0.1:1/  none      -       -\n\
         1      route[1]  ::/        http://127.0.0.1:2/  none      -       -\n\
         -      default   (default)  builtin:echo         none      -       -"
    );
}
