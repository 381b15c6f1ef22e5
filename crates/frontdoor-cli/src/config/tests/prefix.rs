//! `strip_prefix`: a route that forwards the whole path.

use frontdoor::route::Prefix;

use super::{errors, parse};

#[test]
fn strip_prefix_false_keeps_the_prefix_and_true_is_the_default() {
    let c = parse(
        "[[route]]\nspec = \"::/a\"\nupstream = \"builtin:echo\"\nstrip_prefix = false\n\n\
         [[route]]\nspec = \"::/b\"\nupstream = \"builtin:echo\"\nstrip_prefix = true\n\n\
         [[route]]\nspec = \"::/c\"\nupstream = \"builtin:echo\"\n\n\
         [default]\nupstream = \"builtin:echo\"\n",
    )
    .unwrap();
    let prefixes: Vec<Prefix> = c.plan.routes.iter().map(|r| r.target.prefix).collect();
    assert_eq!(prefixes, [Prefix::Keep, Prefix::Consume, Prefix::Consume]);
    assert_eq!(c.plan.default.as_ref().unwrap().prefix, Prefix::Consume);
    // Part of what a reload compares: the same route otherwise is another target.
    assert_ne!(c.plan.routes[0].target, {
        let mut t = c.plan.routes[0].target.clone();
        t.prefix = Prefix::Consume;
        t
    });
}

#[test]
fn a_default_strips_no_prefix() {
    let e = errors("[default]\nupstream = \"builtin:echo\"\nstrip_prefix = false\n");
    assert_eq!(
        e,
        [
            "line 3: default.strip_prefix: unknown field `strip_prefix`: \
          [default] matches no path prefix to strip or keep"
        ]
    );
}

#[test]
fn strip_prefix_is_a_boolean() {
    let e =
        errors("[[route]]\nspec = \"::/a\"\nupstream = \"builtin:echo\"\nstrip_prefix = \"no\"\n");
    // As the other boolean route keys (`redirect_https`, `connect`): the type error comes from the parser, with its line.
    assert_eq!(
        e,
        ["line 4: route[0].strip_prefix: invalid type: string \"no\", expected a boolean"]
    );
}
