//! Ports of 127.0.0.1 for servers that are down: the tests of one binary run in one process, so a
//! port merely found free and closed may be handed to another test's server, which would then
//! answer in place of the server that must be down.

use tokio::net::{TcpListener, TcpSocket};

/// A port held by a socket that is bound but does not listen: a connection to it is refused, and
/// no other server of the process can be given it, until [`RefusingPort::listen`] makes the same
/// socket listen (a server coming back on the address its clients know).
pub struct RefusingPort {
    socket: TcpSocket,
    /// `127.0.0.1:<port>`.
    pub addr: String,
}

/// A port of its own where nothing answers yet.
pub fn refusing_port() -> RefusingPort {
    let socket = TcpSocket::new_v4().expect("a TCP socket");
    socket
        .bind(([127, 0, 0, 1], 0).into())
        .expect("bind 127.0.0.1:0");
    let addr = socket.local_addr().expect("its address").to_string();
    RefusingPort { socket, addr }
}

impl RefusingPort {
    /// Starts listening on the port (inside a Tokio runtime).
    pub fn listen(self) -> TcpListener {
        self.socket.listen(128).expect("listen")
    }
}
