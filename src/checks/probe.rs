//! Connectivity probes that work with the tools images really have: nginx has curl and bash
//! but no ping; redis has bash and redis-cli but no curl; busybox has wget and nc.
//! Each probe is one `sh -c` script that uses the first tool present.

/// Seconds a probe may take before it gives up.
pub const PROBE_TIMEOUT_SECONDS: u32 = 5;

fn sh(script: String) -> Vec<String> {
    vec!["sh".to_string(), "-c".to_string(), script]
}

/// An HTTP GET to `host:port` that prints the status line (e.g. `HTTP/1.1 200 OK`).
pub fn http(host: &str, port: u16) -> Vec<String> {
    let t = PROBE_TIMEOUT_SECONDS;
    sh(format!(
        "if command -v curl >/dev/null 2>&1; then curl -sS -o /dev/null --max-time {t} -w 'HTTP/%{{http_version}} %{{http_code}}\\n' http://{host}:{port}/; \
elif command -v wget >/dev/null 2>&1; then wget -S -q -O /dev/null -T {t} http://{host}:{port}/ 2>&1 | grep -m1 HTTP/; \
elif command -v bash >/dev/null 2>&1; then timeout {t} bash -c 'exec 3<>/dev/tcp/{host}/{port}; printf \"GET / HTTP/1.0\\r\\nHost: {host}\\r\\n\\r\\n\" >&3; head -n1 <&3'; \
else echo 'no curl, wget or bash in this container' >&2; exit 127; fi"
    ))
}

/// A bare TCP connect to `host:port`.
pub fn tcp(host: &str, port: u16) -> Vec<String> {
    let t = PROBE_TIMEOUT_SECONDS;
    sh(format!(
        "if command -v bash >/dev/null 2>&1; then timeout {t} bash -c 'exec 3<>/dev/tcp/{host}/{port}' && echo connected; \
elif command -v nc >/dev/null 2>&1; then nc -z -w {t} {host} {port} && echo connected; \
else echo 'no bash or nc in this container' >&2; exit 127; fi"
    ))
}

/// A Redis inline PING to 127.0.0.1:`port`, printing `+PONG` or `PONG`.
pub fn redis_ping(port: u16) -> Vec<String> {
    let t = PROBE_TIMEOUT_SECONDS;
    sh(format!(
        "if command -v redis-cli >/dev/null 2>&1; then timeout {t} redis-cli -h 127.0.0.1 -p {port} ping; \
elif command -v bash >/dev/null 2>&1; then timeout {t} bash -c 'exec 3<>/dev/tcp/127.0.0.1/{port}; printf \"PING\\r\\n\" >&3; head -c7 <&3'; \
else echo 'no redis-cli or bash in this container' >&2; exit 127; fi"
    ))
}

/// Whether an HTTP probe's output shows a status line.
pub fn http_answered(stdout: &str) -> bool {
    stdout.lines().any(|line| {
        let line = line.trim();
        line.starts_with("HTTP/")
            && line.split_whitespace().nth(1).is_some_and(|code| {
                code.len() == 3 && code != "000" && code.bytes().all(|b| b.is_ascii_digit())
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        assert!(http_answered("HTTP/1.1 200 OK\n"));
        assert!(http_answered("HTTP/1.1 404\n"));
        assert!(!http_answered("HTTP/1.1 000\n"));
        assert!(!http_answered(""));
        assert!(!http_answered("curl: (7) Failed to connect"));
    }

    #[test]
    fn probes_are_single_shell_scripts() {
        let cmd = http("10.244.1.3", 80);
        assert_eq!(cmd[0], "sh");
        assert!(cmd[2].contains("http://10.244.1.3:80/"));
        assert!(redis_ping(6379)[2].contains("/dev/tcp/127.0.0.1/6379"));
        assert!(tcp("10.0.0.1", 53)[2].contains("nc -z -w 5 10.0.0.1 53"));
    }
}
