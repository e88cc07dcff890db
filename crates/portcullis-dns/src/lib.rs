//! DNS for Portcullis.
//!
//! [`SystemTxtResolver`] implements the core's [`TxtResolver`] with hickory-resolver: the
//! system's resolvers (`/etc/resolv.conf`) or the servers given with `--dns-server`, a 2 s
//! timeout with 2 attempts, and no cache (every verification asks again). NXDOMAIN and "no TXT
//! records" are a definite "not there"; SERVFAIL, REFUSED and timeouts are "unavailable", which
//! SSO verification retries instead of failing the connector.
//!
//! The `portcullis-dns-fixture` binary is a tiny authoritative DNS server for tests.

use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;
use hickory_resolver::config::{NameServerConfigGroup, ResolverConfig, ResolverOpts};
use hickory_resolver::error::ResolveErrorKind;
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::TokioAsyncResolver;
use portcullis_core::dns::{DnsError, TxtResolver};

/// TXT lookups over real DNS.
pub struct SystemTxtResolver {
    resolver: TokioAsyncResolver,
}

fn options() -> ResolverOpts {
    let mut opts = ResolverOpts::default();
    opts.timeout = Duration::from_secs(2);
    // hickory counts retries after the first try: 1 gives two tries of 2 s each.
    opts.attempts = 1;
    opts.cache_size = 0;
    opts.ndots = 0;
    opts.use_hosts_file = false;
    opts
}

impl SystemTxtResolver {
    /// A resolver asking `servers` (UDP, then TCP on truncation), or the system's resolvers when
    /// `servers` is empty.
    pub fn new(servers: &[SocketAddr]) -> Result<Self, String> {
        let resolver = if servers.is_empty() {
            let (config, mut opts) = hickory_resolver::system_conf::read_system_conf()
                .map_err(|e| format!("cannot read the system's DNS configuration: {e}"))?;
            let ours = options();
            opts.timeout = ours.timeout;
            opts.attempts = ours.attempts;
            opts.cache_size = 0;
            TokioAsyncResolver::tokio(config, opts)
        } else {
            let ips: Vec<_> = servers.iter().map(SocketAddr::ip).collect();
            let mut group = NameServerConfigGroup::new();
            for server in servers {
                group.merge(NameServerConfigGroup::from_ips_clear(
                    &[server.ip()],
                    server.port(),
                    true,
                ));
            }
            tracing::debug!(?ips, "DNS servers");
            TokioAsyncResolver::tokio(ResolverConfig::from_parts(None, vec![], group), options())
        };
        Ok(Self { resolver })
    }
}

#[async_trait]
impl TxtResolver for SystemTxtResolver {
    async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError> {
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        match self.resolver.txt_lookup(fqdn).await {
            Ok(lookup) => Ok(lookup
                .iter()
                .map(|txt| {
                    txt.txt_data()
                        .iter()
                        .map(|part| String::from_utf8_lossy(part).into_owned())
                        .collect::<String>()
                })
                .collect()),
            Err(e) => match e.kind() {
                ResolveErrorKind::NoRecordsFound {
                    response_code: ResponseCode::NXDomain | ResponseCode::NoError,
                    ..
                } => Err(DnsError::NoRecords),
                _ => Err(DnsError::Unavailable(e.to_string())),
            },
        }
    }
}
