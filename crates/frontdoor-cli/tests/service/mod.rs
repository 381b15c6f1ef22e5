//! `service:NAME` upstreams through the built binary: library users register the
//! service in code, so `frontdoor check` refuses one, naming its key and line.

use super::{bin, ConfigFile};

#[test]
fn check_refuses_a_service_upstream() {
    let file = ConfigFile::new(
        "[[route]]\nspec = \"::/geo\"\nupstream = \"service:geo\"\n\n\
         [default]\nupstream = \"service:rest\"\n",
    );
    let out = bin().args(["check", "-c"]).arg(&file.0).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let name = file.0.display();
    assert_eq!(
        stderr,
        format!(
            "{name}: line 3: route[0].upstream: service:geo is for library users, who register \
             the service in code (frontdoor::plan::Options::service); the frontdoor binary \
             cannot: use an http:// URL or builtin:echo\n\
             {name}: line 6: default.upstream: service:rest is for library users, who register \
             the service in code (frontdoor::plan::Options::service); the frontdoor binary \
             cannot: use an http:// URL or builtin:echo\n"
        )
    );
}
