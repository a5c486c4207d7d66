//! What the service needs of the program that runs it: the BMC models it serves and their
//! users' logins. The binary implements [`Fleet`] over its running BMCs; tests implement it over
//! a few models of their own.

use ipmi_bmc::Bmc;
use ipmi_proto::session::PasswordLogin;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

/// The BMCs a Redfish service serves, and the logins of their users.
pub trait Fleet: Send + Sync + 'static {
    /// The names of the BMCs served now, sorted.
    fn names(&self) -> Vec<String>;

    /// The model of the BMC named `name`, if it is served.
    fn bmc(&self, name: &str) -> Option<Arc<Bmc>>;

    /// Checks a login to `bmc` by `user` with `password` from `ip`, counting nothing (see
    /// [`ipmi_proto::session::server::Server::check_password`]); `Refused` for an unknown BMC.
    fn check_password(
        &self,
        bmc: &str,
        now: Instant,
        ip: IpAddr,
        user: &str,
        password: &[u8],
    ) -> PasswordLogin;

    /// Counts a login to `bmc` that [`Fleet::check_password`] found `outcome`, in the same
    /// failed-login limiter as the BMC's IPMI logins.
    fn count_login(&self, bmc: &str, now: Instant, ip: IpAddr, user: &str, outcome: PasswordLogin);
}
