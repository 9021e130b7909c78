//! The data dir and the compile cache in it hold the database, the control socket and
//! precompiled machine code: whoever can write them can take the server over. So they are
//! created private (0700), and the server refuses to start on one that another user owns or
//! that group or others may write, naming the path and the fix.

use std::path::Path;

use anyhow::{Context, bail};

/// Makes every file and socket this process creates private to its user (umask 077), so the
/// control socket never exists, even briefly, with wider permissions. Process-wide.
pub fn restrict_umask() {
    let _previous = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

/// Creates `dir` (and its parents) if missing, private to this user, then checks it.
pub fn prepare(dir: &Path, what: &str) -> anyhow::Result<()> {
    if !dir.exists() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the {what} {}", dir.display()))?;
        set_private(dir)?;
    }
    check(dir, what)
}

#[cfg(unix)]
fn set_private(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("making {} private", dir.display()))
}

#[cfg(not(unix))]
fn set_private(_dir: &Path) -> anyhow::Result<()> {
    Ok(())
}

/// Refuses a dir owned by another user or writable by group or others.
#[cfg(unix)]
pub fn check(dir: &Path, what: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(dir).with_context(|| format!("reading {}", dir.display()))?;
    if !meta.is_dir() {
        bail!("the {what} {} is not a directory", dir.display());
    }
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        bail!(
            "refusing to start: the {what} {} is owned by uid {}, not by this user (uid {me}); \
             use a directory of your own",
            dir.display(),
            meta.uid()
        );
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o022 != 0 {
        bail!(
            "refusing to start: the {what} {} is writable by group or others (mode {mode:04o}); \
             run `chmod 700 {}`",
            dir.display(),
            dir.display()
        );
    }
    Ok(())
}

#[cfg(not(unix))]
pub fn check(_dir: &Path, _what: &str) -> anyhow::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_dirs_are_refused_and_private_ones_pass() {
        use std::os::unix::fs::PermissionsExt;
        let temp = std::env::temp_dir().join(format!("chatai-dd-{}", uuid::Uuid::new_v4()));
        prepare(&temp.join("data"), "data dir").expect("a new dir is made private");
        let mode = std::fs::metadata(temp.join("data"))
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0);
        assert_eq!(mode, 0o700);
        std::fs::set_permissions(temp.join("data"), std::fs::Permissions::from_mode(0o777))
            .expect("chmod");
        let err = prepare(&temp.join("data"), "data dir").expect_err("0777 is refused");
        assert!(err.to_string().contains("data"), "{err}");
        assert!(err.to_string().contains("0777"), "{err}");
        std::fs::remove_dir_all(&temp).ok();
    }
}
