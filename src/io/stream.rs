//! Rows of a data set's files read in a background thread, pass after pass, for training on data
//! larger than memory: each pass visits the files in an order drawn from a seed and sends their rows
//! on in chunks; at most a few chunks wait in the channel, so memory stays bounded. The thread makes
//! no tensors: a second thread calling into libtorch starts a second OpenMP team, and on two cores
//! the two teams slowed training by 40% (measured); chunks become tensors where they are received.

use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver};
use std::thread::JoinHandle;

use tch::Tensor;

use super::dataset::{read_chunks, stack_columns, DataFiles};
use crate::error::{Error, Result};
use crate::seeding::{derive, Stream};

/// Chunks read ahead of the trainer.
const READ_AHEAD: usize = 2;

/// `count` files in an order drawn from `seed`, `stream` and `index` (a sort by a hash of them).
pub fn file_order(count: usize, seed: u64, stream: Stream, index: u64) -> Vec<usize> {
    let pass = derive(seed, stream, index);
    let mut order: Vec<usize> = (0..count).collect();
    order.sort_by_key(|&file| derive(pass, stream, file as u64));
    order
}

/// The files a streamed run holds out whole to validate, and those it trains on: a share
/// `validation` of them (at least one when above 0), chosen by `seed`. Each part keeps the files'
/// sorted order.
pub fn held_out_files(files: &DataFiles, validation: f64, seed: u64) -> Result<(DataFiles, DataFiles)> {
    let count = files.files.len();
    let held_out = if validation > 0.0 { ((validation * count as f64).ceil() as usize).max(1) } else { 0 };
    if held_out >= count {
        return Err(Error::invalid(format!(
            "--stream holds out whole files to validate, and '{}' has {count} file{}: give it as more shards, or --val 0",
            files.spec,
            if count == 1 { "" } else { "s" }
        )));
    }
    let order = file_order(count, seed, Stream::Validation, 0);
    let (held, kept) = order.split_at(held_out);
    let pick = |indices: &[usize]| {
        let mut paths: Vec<_> = indices.iter().map(|&index| files.files[index].clone()).collect();
        paths.sort();
        DataFiles { spec: files.spec.clone(), files: paths }
    };
    Ok((pick(held), pick(kept)))
}

/// Chunks of rows ([rows, columns], float32 on the CPU) of some files, endlessly, pass after pass,
/// each pass in the order [`file_order`] draws for it.
pub struct RowStream {
    receiver: Receiver<Result<Vec<Vec<f32>>>>,
    reader: Option<JoinHandle<()>>,
}

impl RowStream {
    /// Starts reading the `names` columns of `files` in a background thread.
    pub fn start(files: Vec<PathBuf>, names: Vec<String>, seed: u64) -> RowStream {
        let (sender, receiver) = sync_channel(READ_AHEAD);
        let reader = std::thread::spawn(move || {
            for pass in 0.. {
                for index in file_order(files.len(), seed, Stream::Files, pass) {
                    let mut open = true;
                    let read = read_chunks(&files[index], &names, &mut |chunk| {
                        open = sender.send(Ok(chunk)).is_ok();
                        open
                    });
                    if let Err(error) = read {
                        sender.send(Err(error)).ok();
                        return;
                    }
                    if !open {
                        return;
                    }
                }
            }
        });
        RowStream { receiver, reader: Some(reader) }
    }

    /// The next chunk of rows (waits for the reader).
    pub fn next_chunk(&self) -> Result<Tensor> {
        let columns = self.receiver.recv().map_err(|_| Error::invalid("the data reader stopped"))??;
        Ok(stack_columns(&columns))
    }
}

impl Drop for RowStream {
    /// Stops the reader: it finds the channel closed at its next send.
    fn drop(&mut self) {
        let (_, closed) = sync_channel(0);
        drop(std::mem::replace(&mut self.receiver, closed));
        if let Some(reader) = self.reader.take() {
            reader.join().ok();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::dataset::write_columns;
    use tch::Kind;

    #[test]
    fn every_pass_sends_every_row_once_in_a_seeded_file_order() {
        let folder = tempfile::tempdir().unwrap();
        let names: Vec<String> = ["a", "b"].map(String::from).to_vec();
        let files: Vec<PathBuf> = (0..3)
            .map(|index| {
                let path = folder.path().join(format!("part-{index}.{}", if index == 1 { "csv" } else { "parquet" }));
                let rows = Tensor::arange_start(index * 10, index * 10 + 10, (Kind::Float, tch::Device::Cpu));
                write_columns(&path, &names, &Tensor::stack(&[&rows, &(&rows * 2)], 1)).unwrap();
                path
            })
            .collect();
        let stream = RowStream::start(files, names, 7);
        let mut firsts = Vec::new();
        for pass in 0..3 {
            let chunks: Vec<Tensor> = (0..3).map(|_| stream.next_chunk().unwrap()).collect();
            let rows = Tensor::cat(&chunks, 0);
            let mut values = Vec::<f32>::try_from(rows.select(1, 0)).unwrap();
            let order: Vec<usize> = chunks.iter().map(|chunk| (chunk.double_value(&[0, 0]) / 10.0) as usize).collect();
            assert_eq!(order, file_order(3, 7, Stream::Files, pass), "pass {pass}");
            firsts.push(order);
            values.sort_by(f32::total_cmp);
            assert_eq!(values, (0..30).map(|value| value as f32).collect::<Vec<_>>());
            assert!(rows.select(1, 1).equal(&(rows.select(1, 0) * 2)));
        }
        assert!(firsts.windows(2).any(|pair| pair[0] != pair[1]), "the order changes between passes: {firsts:?}");
    }
}
