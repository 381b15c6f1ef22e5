//! Example 3: by_scheme with an admin listener in front of an existing axum Router.

use crate::{
    admin_listener,
    client::{get, loopback},
};

#[tokio::test]
async fn the_admin_app_is_reached_on_its_socket_only() {
    let (public, public_addr) = loopback().await;
    let (admin, admin_addr) = loopback().await;
    tokio::spawn(async move { admin_listener::run(public, admin).await.unwrap() });
    let admin_host = format!("example.com:{}", admin_addr.port());
    let public_host = format!("example.com:{}", public_addr.port());

    // (socket, Host, answer)
    let table = [
        (public_addr, "example.com", "/", "public home\n"),
        (admin_addr, "example.com", "/", "admin home\n"),
        // The admin port in Host does not reach the admin app on the public socket...
        (public_addr, admin_host.as_str(), "/", "public home\n"),
        // ...and the public port in Host does not keep a request on the admin socket out.
        (admin_addr, public_host.as_str(), "/", "admin home\n"),
        // The label is what regex specs and logs see in place of the port.
        (
            admin_addr,
            "example.com",
            "/where",
            "admin: example.com:admin:/where\n",
        ),
        (
            public_addr,
            "example.com",
            "/where",
            "public: example.com:http:/where\n",
        ),
    ];
    for (socket, host, path, want) in table {
        let res = get(socket, path, &[("host", host)]).await;
        assert_eq!(res.text(), want, "{socket} {host} {path}");
    }
}
