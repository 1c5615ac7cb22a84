//! Interactive exec with a TTY (`stdin=true&tty=true`): a tiny line-echo shell, so tests can
//! type into a terminal through kube-rs and read the answer. A TTY echoes what is typed and
//! turns Enter into CRLF; the shell knows `echo`, `stty size` (the last resize), `hostname`,
//! `history` (lines typed in earlier sessions on the same Pod too, as a session multiplexer
//! keeps them) and `exit`; anything else is "not found". Resize messages (channel 4,
//! `{"Width": W, "Height": H}`) are recorded for [`crate::FakeCluster::terminal_sizes`].

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::sync::watch;

use crate::FakeCluster;

const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STATUS: u8 = 3;
const RESIZE: u8 = 4;
const CLOSE: u8 = 255;
const PROMPT: &str = "$ ";

/// One terminal size a client sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TerminalSize {
    /// Columns.
    pub width: u16,
    /// Rows.
    pub height: u16,
}

/// Who the shell runs as.
pub(crate) struct Session {
    pub(crate) namespace: String,
    pub(crate) pod: String,
}

fn frame(channel: u8, data: &[u8]) -> Message {
    let mut bytes = Vec::with_capacity(data.len() + 1);
    bytes.push(channel);
    bytes.extend_from_slice(data);
    Message::Binary(bytes.into())
}

/// What one line does: its output, and whether the shell ends.
fn run_line(line: &str, session: &Session, cluster: &FakeCluster) -> (String, bool) {
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut inner = cluster.lock();
    let key = (session.namespace.clone(), session.pod.clone());
    let out = match words.as_slice() {
        [] => String::new(),
        ["exit", ..] => return (String::new(), true),
        ["echo", rest @ ..] => format!("{}\r\n", rest.join(" ")),
        ["hostname"] => format!("{}\r\n", session.pod),
        ["stty", "size"] => match inner.terminal_sizes.last() {
            Some((_, size)) => format!("{} {}\r\n", size.height, size.width),
            None => "24 80\r\n".to_string(),
        },
        ["history"] => inner
            .shell_history
            .get(&key)
            .map(|lines| {
                lines
                    .iter()
                    .enumerate()
                    .map(|(n, l)| format!("{:>5}  {l}\r\n", n + 1))
                    .collect()
            })
            .unwrap_or_default(),
        [program, ..] => format!("sh: {program}: not found\r\n"),
    };
    if !words.is_empty() {
        inner
            .shell_history
            .entry(key)
            .or_default()
            .push(line.to_string());
    }
    (out, false)
}

/// Runs the shell until the client closes, types `exit` or Ctrl-D, or the server stops.
pub(crate) async fn run(
    socket: WebSocket,
    session: Session,
    cluster: FakeCluster,
    mut stop: watch::Receiver<bool>,
) {
    let (mut tx, mut rx) = socket.split();
    let pod = format!("{}/{}", session.namespace, session.pod);
    if tx.send(frame(STDOUT, PROMPT.as_bytes())).await.is_err() {
        return;
    }
    let mut line = String::new();
    loop {
        let msg = tokio::select! {
            msg = rx.next() => msg,
            () = crate::util::raised(&mut stop) => break,
        };
        let data = match msg {
            Some(Ok(Message::Binary(data))) => data,
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
            Some(Ok(_)) => continue,
        };
        let Some((&channel, body)) = data.split_first() else {
            continue;
        };
        match channel {
            RESIZE => {
                if let Ok(size) = serde_json::from_slice::<serde_json::Value>(body) {
                    let width = size["Width"].as_u64().unwrap_or(0);
                    let height = size["Height"].as_u64().unwrap_or(0);
                    if let (Ok(width), Ok(height)) = (u16::try_from(width), u16::try_from(height)) {
                        cluster
                            .lock()
                            .terminal_sizes
                            .push((pod.clone(), TerminalSize { width, height }));
                    }
                }
            }
            CLOSE => break,
            STDIN => {
                let mut echo = String::new();
                let mut ended = false;
                for ch in String::from_utf8_lossy(body).chars() {
                    match ch {
                        '\r' | '\n' => {
                            echo.push_str("\r\n");
                            let (out, exit) = run_line(&line, &session, &cluster);
                            line.clear();
                            echo.push_str(&out);
                            if exit {
                                ended = true;
                                break;
                            }
                            echo.push_str(PROMPT);
                        }
                        '\u{7f}' | '\u{8}' if line.pop().is_some() => {
                            echo.push_str("\u{8} \u{8}");
                        }
                        '\u{3}' => {
                            line.clear();
                            echo.push_str("^C\r\n");
                            echo.push_str(PROMPT);
                        }
                        '\u{4}' if line.is_empty() => {
                            ended = true;
                            break;
                        }
                        c if !c.is_control() => {
                            line.push(c);
                            echo.push(c);
                        }
                        _ => {}
                    }
                }
                if !echo.is_empty() && tx.send(frame(STDOUT, echo.as_bytes())).await.is_err() {
                    return;
                }
                if ended {
                    break;
                }
            }
            _ => {}
        }
    }
    let status = json!({"metadata": {}, "status": "Success"});
    let _ = tx
        .send(frame(
            STATUS,
            &serde_json::to_vec(&status).unwrap_or_default(),
        ))
        .await;
    let _ = tx
        .send(Message::Close(Some(CloseFrame {
            code: 1000,
            reason: "".into(),
        })))
        .await;
}
