//! An external simulator: a shell command that reads rows of x as CSV on stdin and writes rows of y
//! as CSV on stdout, run once per batch.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use wait_timeout::ChildExt;

use tch::{Device, Kind, Tensor};

use crate::error::{Error, Result};
use crate::io::table::{read_table_from, write_table_to};

/// Rows sent to one run of the command, unless told otherwise.
pub const DEFAULT_SIMULATOR_BATCH: i64 = 100_000;
/// Longest time one run of the command may take, unless told otherwise.
pub const DEFAULT_SIMULATOR_TIMEOUT: Duration = Duration::from_secs(600);

/// A forward process computed by another program.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalSimulator {
    /// The command, run with `sh -c`.
    pub command: String,
    /// Names of the x columns it is given (its input header).
    pub x_names: Vec<String>,
    /// Names of the y columns it must write (its output header must contain them).
    pub y_names: Vec<String>,
    /// Rows per run of the command.
    pub batch: i64,
    /// Longest time one run of the command may take; then it is killed and the batch fails.
    pub timeout: Duration,
}

impl ExternalSimulator {
    /// y for each row of `x`, on `x`'s device; the command runs once per batch of rows.
    pub fn simulate(&self, x: &Tensor) -> Result<Tensor> {
        let rows = x.size()[0];
        let values = x.to_device(Device::Cpu).to_kind(Kind::Float).contiguous();
        let mut outputs = Vec::new();
        for (batch, start) in (0..rows).step_by(self.batch.max(1) as usize).enumerate() {
            let length = self.batch.min(rows - start);
            outputs.push(self.run_batch(&values.narrow(0, start, length), batch, start)?);
        }
        if outputs.is_empty() {
            return Ok(Tensor::zeros([0, self.y_names.len() as i64], (Kind::Float, x.device())));
        }
        Ok(Tensor::cat(&outputs, 0).to_device(x.device()))
    }

    /// Runs the command on one batch of rows (the `batch`-th, starting at row `start`).
    fn run_batch(&self, x: &Tensor, batch: usize, start: i64) -> Result<Tensor> {
        let rows = x.size()[0];
        let fail = |message: String| Error::Simulator { batch, first: start + 1, last: start + rows, message };
        let mut input = Vec::new();
        write_table_to(&mut input, Path::new("simulator input"), &self.x_names, &[x])?;
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(&self.command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so that a timeout ends whatever the command started too.
            .process_group(0)
            .spawn()
            .map_err(|error| fail(format!("cannot start `{}`: {error}", self.command)))?;
        let mut stdin = child.stdin.take().ok_or_else(|| fail("no standard input".into()))?;
        // Fed and read from other threads so that a simulator that answers as it reads cannot
        // dead-lock, and so that the wait below can time out.
        let writer = std::thread::spawn(move || stdin.write_all(&input));
        let reader = |pipe: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                pipe.map(|mut pipe| pipe.read_to_end(&mut bytes)).transpose().map(|_| bytes)
            })
        };
        let stdout = reader(child.stdout.take().map(|pipe| Box::new(pipe) as Box<dyn Read + Send>));
        let stderr = reader(child.stderr.take().map(|pipe| Box::new(pipe) as Box<dyn Read + Send>));
        let status = match child.wait_timeout(self.timeout).map_err(|error| fail(format!("cannot wait for it: {error}")))? {
            Some(status) => status,
            None => {
                // SAFETY: signals the process group this function started (its id is the child's).
                unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
                let _ = child.wait();
                return Err(fail(format!(
                    "`{}` did not finish within {} and was stopped; allow it longer with --simulator-timeout",
                    self.command,
                    humantime::format_duration(self.timeout)
                )));
            }
        };
        let collected = |thread: std::thread::JoinHandle<std::io::Result<Vec<u8>>>| {
            thread
                .join()
                .map_err(|_| fail("a thread reading its output stopped".into()))?
                .map_err(|error| fail(format!("cannot read its output: {error}")))
        };
        let output = Output { status, stdout: collected(stdout)?, stderr: collected(stderr)? };
        let written = writer.join().map_err(|_| fail("the thread feeding it stopped".into()))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect();
            return Err(fail(format!("`{}` failed ({}): {}", self.command, output.status, tail.join(" | "))));
        }
        if let Err(error) = written {
            return Err(fail(format!("it stopped reading its input: {error}")));
        }
        let label = Path::new("its output");
        let y = read_table_from(output.stdout.as_slice(), label)
            .and_then(|table| table.select(&self.y_names, label))
            .map_err(|error| fail(error.to_string()))?;
        if y.size()[0] != rows {
            return Err(fail(format!("it wrote {} rows for {rows} rows of input", y.size()[0])));
        }
        Ok(y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn simulator(command: &str) -> ExternalSimulator {
        let (x_names, y_names) = (vec!["a".into(), "b".into()], vec!["s".into()]);
        ExternalSimulator { command: command.into(), x_names, y_names, batch: 3, timeout: DEFAULT_SIMULATOR_TIMEOUT }
    }

    #[test]
    fn a_hung_simulator_is_stopped_at_its_timeout() {
        let x = Tensor::ones([5, 2], (Kind::Float, Device::Cpu));
        let hung = ExternalSimulator { timeout: Duration::from_millis(300), ..simulator("cat > /dev/null; sleep 30; echo s") };
        let started = std::time::Instant::now();
        let error = hung.simulate(&x).unwrap_err().to_string();
        assert!(started.elapsed() < Duration::from_secs(10), "the sleep was not ended: {:?}", started.elapsed());
        assert!(error.contains("batch 0 (rows 1–3)") && error.contains("did not finish within 300ms"), "{error}");
    }

    #[test]
    fn runs_in_batches_and_keeps_row_order() {
        // awk sums the two columns of each row: s = a + b.
        let sum = simulator(r#"awk -F, 'NR == 1 { print "s" } NR > 1 { print $1 + $2 }'"#);
        let x = Tensor::arange(14, (Kind::Float, Device::Cpu)).view([7, 2]);
        let y = sum.simulate(&x).unwrap();
        assert!(y.allclose(&x.sum_dim_intlist(1, true, Kind::Float), 1e-6, 1e-6, false));
    }

    #[test]
    fn misbehaving_commands_are_named_by_batch() {
        let x = Tensor::ones([5, 2], (Kind::Float, Device::Cpu));
        let cases = [
            ("echo oops >&2; exit 3", "batch 0 (rows 1–3)", "oops"),
            ("cat > /dev/null; echo s; echo 1", "batch 0 (rows 1–3)", "wrote 1 rows for 3"),
            ("cat > /dev/null; echo t; echo 1", "batch 0", "missing column 's'"),
            ("cat > /dev/null; printf 's\\n1\\nnan\\n1\\n'", "batch 0", "row 3, column 's': nan is not a finite number"),
            ("cat > /dev/null", "batch 0", "empty"),
            ("n=$(wc -l); if [ $n -gt 3 ]; then printf 's\\n1\\n1\\n1\\n'; else exit 1; fi", "batch 1 (rows 4–5)", "exit status: 1"),
        ];
        for (command, batch, message) in cases {
            let error = simulator(command).simulate(&x).unwrap_err().to_string();
            assert!(error.contains(batch) && error.contains(message), "{command}: {error}");
        }
    }
}
