//! `copy` and `sync`: moving images between transports.

use std::io::Write;

use clap::Args;
use stevedore::platform::Platform;
use stevedore::registry::Client;
use stevedore::transport::Selector;
use stevedore::{CopyOptions, CopyReport, Error, ErrorKind, SyncOutcome, SyncResult};

use crate::output::{emit, human_size, progress_printer, to_json, ProgressMode};
use crate::registry_args::SideArgs;

/// `stevedore copy SRC DST`.
#[derive(Args)]
#[command(after_help = COPY_EXAMPLES)]
pub struct CopyArgs {
    /// The image to copy, as TRANSPORT:LOCATION.
    src: String,
    /// Where to copy it, as TRANSPORT:LOCATION.
    dst: String,
    /// Copy every image of an index, not just one platform's.
    #[arg(short = 'a', long)]
    all: bool,
    /// skopeo's spelling of --all: system (one platform, the default), all;
    /// index-only is refused (an index without its images is not copied).
    #[arg(long, value_enum, conflicts_with = "all")]
    multi_arch: Option<MultiArch>,
    /// The platform to choose from an index (os/arch[/variant]); repeat it
    /// to copy a subset of the index as a new index. Defaults to the host's.
    #[arg(long = "platform", conflicts_with = "all")]
    platforms: Vec<Platform>,
    /// Choose the image for this OS instead of the host's (skopeo's flag).
    #[arg(long, value_name = "OS", conflicts_with = "platforms")]
    override_os: Option<String>,
    /// Choose the image for this architecture instead of the host's.
    #[arg(long, value_name = "ARCH", conflicts_with = "platforms")]
    override_arch: Option<String>,
    /// Choose the image for this architecture variant.
    #[arg(long, value_name = "VARIANT", conflicts_with = "platforms")]
    override_variant: Option<String>,
    /// How many blobs move at once.
    #[arg(long, default_value_t = stevedore::copy::DEFAULT_JOBS,
          value_parser = super::at_least_one::<usize>)]
    jobs: usize,
    /// Fail rather than convert when the destination cannot hold the
    /// image as it is (e.g. a Docker manifest into oci:).
    #[arg(long)]
    preserve_digests: bool,
    /// Write the manifests in this format, converting them (new digests
    /// reported): oci or v2s2.
    #[arg(short = 'f', long, value_name = "oci|v2s2")]
    format: Option<stevedore::convert::ManifestFormat>,
    /// Recompress the layers to gzip or zstd (new layer and manifest
    /// digests reported; zstd needs OCI manifests: add --format oci for a
    /// Docker image).
    #[arg(long, value_name = "gzip|zstd")]
    dest_compress_format: Option<stevedore::copy::CompressFormat>,
    /// The level for --dest-compress-format: gzip 1-9 (default 6), zstd
    /// 1-22 (default 3); a layer already in the format is recompressed
    /// only when a level is given.
    #[arg(long, value_name = "N", requires = "dest_compress_format",
          value_parser = clap::value_parser!(i32).range(1..=22))]
    dest_compress_level: Option<i32>,
    /// Bring along signatures and attached artifacts (cosign's .sig,
    /// .att, .sbom tags and OCI 1.1 referrers).
    #[arg(long, conflicts_with = "remove_signatures")]
    referrers: bool,
    /// Neither read nor write the blob-location cache
    /// ($XDG_CACHE_HOME/stevedore): upload blobs instead of mounting them
    /// from repositories earlier runs saw holding them.
    #[arg(long)]
    no_blob_cache: bool,
    /// Leave signatures behind (skopeo's flag; without --referrers they
    /// stay behind anyway).
    #[arg(long)]
    remove_signatures: bool,
    /// Write the digest of the manifest written to FILE.
    #[arg(long, value_name = "FILE")]
    digestfile: Option<std::path::PathBuf>,
    /// Also tag the copied manifest TAG at the destination (a [NAME:]TAG;
    /// docker:// and oci: destinations).
    #[arg(long, value_name = "[NAME:]TAG")]
    additional_tag: Vec<String>,
    /// Sign the copied image as cosign does with this private key (its
    /// password from COSIGN_PASSWORD, else asked).
    #[arg(long, value_name = "KEY")]
    sign_by_sigstore_private_key: Option<std::path::PathBuf>,
    /// Print nothing but errors.
    #[arg(short = 'q', long, conflicts_with = "json")]
    quiet: bool,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Progress on stderr: a live line when stderr is a terminal (auto),
    /// JSON lines (json), or none.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    progress: ProgressMode,
    #[command(flatten)]
    sides: SideArgs,
}

const COPY_EXAMPLES: &str = "Examples:
  stevedore copy docker://registry.example/app:1.0 oci:/images/app:1.0
  stevedore copy --all --format oci docker://registry.example/app:1.0 docker://mirror.example/app:1.0
  stevedore copy --multi-arch all --digestfile app.digest oci:/images/app:1.0 docker://registry.example/app:1.0
  stevedore copy --all --dest-compress-format zstd docker://registry.example/app:1.0 docker://mirror.example/app:1.0-zstd";

/// skopeo's `--multi-arch`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MultiArch {
    /// The image of one platform (the host's, or --override-*).
    System,
    /// Every image of the index.
    All,
    /// The index alone (refused).
    IndexOnly,
}

/// `stevedore sync FILE` or, as skopeo, `sync --src yaml|docker --dest docker SRC DEST`.
#[derive(Args)]
#[command(after_help = SYNC_EXAMPLES)]
pub struct SyncArgs {
    /// The list of copies (--src lines: `SRC DST` a line, then the job's
    /// own all=true|false, platform=P[,P…], referrers=true|false), a skopeo
    /// sync YAML file (--src yaml) or a repository whose every tag is
    /// copied (--src docker).
    file: String,
    /// Where the copies go with --src yaml|docker: a registry namespace
    /// (host[:port][/namespace]).
    dest: Option<String>,
    /// What SRC is: lines (`SRC DST` a line, ours), yaml or docker (skopeo's).
    #[arg(short = 's', long = "src", value_enum, default_value_t = SyncSource::Lines)]
    source: SyncSource,
    /// Where DEST is (skopeo's --dest): only docker.
    #[arg(short = 'd', long = "dest", value_name = "docker")]
    dest_kind: Option<String>,
    /// Put each image under DEST/HOST/REPO rather than DEST/LAST (skopeo's --scoped).
    #[arg(long)]
    scoped: bool,
    /// Print the copies that would be made, make none.
    #[arg(long)]
    dry_run: bool,
    /// With --src yaml|docker, go on after a failed copy (our line format
    /// always does); the exit status still reports failures.
    #[arg(long)]
    keep_going: bool,
    /// Copy every image of each index.
    #[arg(short = 'a', long)]
    all: bool,
    /// How many blobs move at once.
    #[arg(long, default_value_t = stevedore::copy::DEFAULT_JOBS,
          value_parser = super::at_least_one::<usize>)]
    jobs: usize,
    /// Bring along each image's signatures and attached artifacts.
    #[arg(long)]
    referrers: bool,
    /// Neither read nor write the blob-location cache
    /// ($XDG_CACHE_HOME/stevedore): upload blobs instead of mounting them
    /// from repositories earlier runs saw holding them.
    #[arg(long)]
    no_blob_cache: bool,
    /// Print the results as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Progress on stderr: bars when stderr is a terminal (auto), JSON
    /// lines (json), or none.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    progress: ProgressMode,
    #[command(flatten)]
    sides: SideArgs,
}

const SYNC_EXAMPLES: &str = "Examples:
  stevedore sync copies.txt                      # SRC DST [all=… platform=… referrers=…] a line
  stevedore sync --src yaml --dest docker sync.yaml mirror.example:5000/mirror
  stevedore sync --src docker --dest docker registry.example/team/app mirror.example/team";

/// What `sync`'s first argument is.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SyncSource {
    /// Our line format.
    Lines,
    /// skopeo's YAML.
    Yaml,
    /// A repository: every tag.
    Docker,
}

/// Runs `copy`.
pub fn copy(
    args: CopyArgs,
    policy: Option<std::path::PathBuf>,
    client: &Client,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let CopyArgs {
        src,
        dst,
        all,
        multi_arch,
        platforms,
        override_os,
        override_arch,
        override_variant,
        jobs,
        preserve_digests,
        format,
        dest_compress_format,
        dest_compress_level,
        referrers,
        no_blob_cache,
        remove_signatures: _,
        digestfile,
        additional_tag,
        sign_by_sigstore_private_key,
        quiet,
        json,
        progress,
        sides,
    } = args;
    usage_check_level(dest_compress_format, dest_compress_level);
    if multi_arch == Some(MultiArch::IndexOnly) {
        return Err(Error::unsupported(
            "--multi-arch index-only is not supported: copy every image (all) or one (system)",
        ));
    }
    let key = sign_by_sigstore_private_key
        .map(|path| crate::password::private_key(&super::sign::read_key_file(&path)?))
        .transpose()?;
    let (src_client, dst_client) = sides.copy_clients(&src, &dst, client)?;
    let src = stevedore::transport::parse_with(&src, &src_client)?;
    let dst = stevedore::transport::parse_with(&dst, &dst_client)?;
    let (platform, platforms) = choose_platforms(
        platforms,
        override_os.as_deref(),
        override_arch.as_deref(),
        override_variant.as_deref(),
    );
    let options = CopyOptions {
        all: all || multi_arch == Some(MultiArch::All),
        platform,
        platforms,
        jobs,
        preserve_digests,
        referrers,
        blob_cache: !no_blob_cache,
        blob_cache_dir: None,
        format,
        policy,
        compress_format: dest_compress_format,
        compress_level: dest_compress_level,
        progress: progress_printer(progress, quiet),
        cancel: Some(crate::interrupt::cancel_on_signals()?),
    };
    let report = stevedore::copy(&src, &dst, &options)?;
    let copied = dst.with_selector(Some(Selector::Digest(report.digest.clone())));
    for name in &additional_tag {
        let tag = name.rsplit_once(':').map_or(name.as_str(), |(_, tag)| tag);
        stevedore::tag(&copied, tag)?;
    }
    if let Some(key) = key {
        // Signed under the destination's name and tag, as skopeo signs.
        let name = stevedore::inspect::docker_name(&dst);
        let identity = match dst.selector() {
            Some(Selector::Tag(tag)) if !name.is_empty() => Some(format!("{name}:{tag}")),
            _ => None,
        };
        let options = stevedore::sign::SignOptions {
            identity,
            ..Default::default()
        };
        stevedore::sign::sign(&copied, &key, &options)?;
    }
    if let Some(path) = digestfile {
        std::fs::write(&path, report.digest.to_string())
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    }
    if json {
        emit(out, to_json(&report)?.as_bytes())
    } else if quiet {
        Ok(())
    } else {
        emit(out, describe_copy(&report).as_bytes())
    }
}

/// The one platform and the subset to copy: `--platform` as given, or the
/// host's platform with skopeo's `--override-*` parts.
fn choose_platforms(
    mut platforms: Vec<Platform>,
    os: Option<&str>,
    arch: Option<&str>,
    variant: Option<&str>,
) -> (Option<Platform>, Vec<Platform>) {
    if os.is_some() || arch.is_some() || variant.is_some() {
        let host = Platform::host();
        let chosen = Platform::new(
            os.unwrap_or(&host.os),
            arch.unwrap_or(&host.architecture),
            variant.or(if arch.is_some() {
                None
            } else {
                host.variant.as_deref()
            }),
        );
        return (Some(chosen), Vec::new());
    }
    if platforms.len() == 1 {
        (platforms.pop(), Vec::new())
    } else {
        (None, platforms)
    }
}

/// `--src docker REPO`: one registry entry asking for every tag of REPO.
fn docker_source(repo: &str) -> Result<stevedore::sync_yaml::SyncYaml, Error> {
    let reference = stevedore::Reference::parse(repo.trim_start_matches("docker://"))?;
    let mut yaml = stevedore::sync_yaml::SyncYaml::default();
    yaml.registries
        .entry(reference.domain().to_owned())
        .or_default()
        .images
        .insert(reference.repository().to_owned(), Vec::new());
    Ok(yaml)
}

/// Runs `sync`: with our line format every job is tried; with skopeo's
/// sources the first failure stops it unless `--keep-going`. The exit
/// status reports the failures.
pub fn sync(
    args: SyncArgs,
    policy: Option<std::path::PathBuf>,
    client: &Client,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let read = |path: &str| {
        std::fs::read_to_string(path).map_err(|e| Error::io(format!("reading {path}"), e))
    };
    let mut client = client.clone();
    let jobs_list = match (args.source, args.dest.as_deref()) {
        (SyncSource::Lines, None) => stevedore::sync::parse_jobs(&read(&args.file)?)?,
        (SyncSource::Lines, Some(_)) => {
            return Err(Error::invalid(
                "sync FILE takes no DEST: name --src yaml or --src docker for SRC DEST",
            ))
        }
        (_, None) => return Err(Error::invalid("sync --src yaml|docker needs SRC DEST")),
        (source, Some(dest)) => {
            if args.dest_kind.as_deref().is_some_and(|d| d != "docker") {
                return Err(Error::unsupported(
                    "sync --dest takes docker only (copy to a directory with SRC DST lines)",
                ));
            }
            let yaml = match source {
                SyncSource::Yaml => stevedore::sync_yaml::SyncYaml::parse(&read(&args.file)?)?,
                _ => docker_source(&args.file)?,
            };
            client = Client::new(yaml.client_options(client.options())?)?;
            // The per-side flags (--src-tls-verify, --src-creds, …) bind
            // before the source's tags are listed, as for the copies.
            let listed: Vec<(String, String)> = yaml
                .registries
                .iter()
                .flat_map(|(registry, source)| {
                    let repos = source.images.keys();
                    let repos = repos
                        .chain(source.images_by_tag_regex.keys())
                        .chain(source.images_by_semver.keys());
                    repos.map(move |repo| {
                        (
                            format!("docker://{registry}/{repo}"),
                            format!("docker://{dest}/{repo}"),
                        )
                    })
                })
                .collect();
            let pairs = listed.iter().map(|(s, d)| (s.as_str(), d.as_str()));
            client = args.sides.sync_client(pairs, &client)?;
            let lister = |repo: &str| {
                stevedore::tags(&stevedore::transport::parse_with(
                    &format!("docker://{repo}"),
                    &client,
                )?)
            };
            yaml.jobs(dest, args.scoped, lister)?
        }
    };
    if args.dry_run {
        let text: String = jobs_list
            .iter()
            .map(|j| format!("would copy {} -> {}\n", j.src, j.dst))
            .collect();
        return emit(out, text.as_bytes());
    }
    let options = CopyOptions {
        all: args.all,
        jobs: args.jobs,
        referrers: args.referrers,
        blob_cache: !args.no_blob_cache,
        policy,
        progress: progress_printer(args.progress, false),
        cancel: Some(crate::interrupt::cancel_on_signals()?),
        ..CopyOptions::default()
    };
    let pairs = jobs_list.iter().map(|j| (j.src.as_str(), j.dst.as_str()));
    let client = args.sides.sync_client(pairs, &client)?;
    let parse = |s: &str| stevedore::transport::parse_with(s, &client);
    let stop_early = args.source != SyncSource::Lines && !args.keep_going;
    let results = if stop_early {
        let mut results = Vec::new();
        for job in &jobs_list {
            results.extend(stevedore::sync(std::slice::from_ref(job), &options, parse));
            if matches!(results.last(), Some(r) if matches!(r.outcome, SyncOutcome::Failed { .. }))
            {
                break;
            }
        }
        results
    } else {
        stevedore::sync(&jobs_list, &options, parse)
    };
    let output = if args.json {
        to_json(&results)?
    } else {
        results.iter().map(describe_sync).collect()
    };
    emit(out, output.as_bytes())?;
    let failures: Vec<ErrorKind> = results
        .iter()
        .filter_map(|r| match &r.outcome {
            SyncOutcome::Failed { kind, .. } => Some(*kind),
            _ => None,
        })
        .collect();
    match failures.first() {
        Some(kind) => Err(Error::new(
            *kind,
            format!("{} of {} copies failed", failures.len(), results.len()),
        )),
        None => Ok(()),
    }
}

/// Ends the process as clap ends it on a bad flag (exit 2) when
/// `--dest-compress-level` is out of `--dest-compress-format`'s range
/// (clap's own check knows only the widest, zstd's 1..=22).
fn usage_check_level(format: Option<stevedore::copy::CompressFormat>, level: Option<i32>) {
    if let (Some(format), Some(level)) = (format, level) {
        let levels = format.levels();
        if !levels.contains(&level) {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!(
                    "invalid value '{level}' for '--dest-compress-level': \
                     {format:?} takes {} to {}\n",
                    levels.start(),
                    levels.end()
                ),
            )
            .exit();
        }
    }
}

fn describe_copy(r: &CopyReport) -> String {
    let mut out = format!(
        "Copied {} to {}\nDigest: {}\nBlobs:  {} sent ({}), {} mounted, {} already present\n",
        r.source,
        r.destination,
        r.digest,
        r.blobs_copied,
        human_size(r.bytes_copied),
        r.blobs_mounted,
        r.blobs_skipped
    );
    if let Some(tag) = &r.assumed_tag {
        out.push_str(&format!("Tag:    {tag} (the destination named no tag)\n"));
    }
    if r.digest != r.source_digest {
        out.push_str(&format!(
            "From:   {} (the source's top-level manifest)\n",
            r.source_digest
        ));
    }
    if r.referrers_copied > 0 {
        out.push_str(&format!(
            "Also:   {} signature(s) and attached artifact(s)\n",
            r.referrers_copied
        ));
    }
    for layer in &r.foreign_layers_skipped {
        out.push_str(&format!(
            "Foreign layer {} not copied (the source does not hold it; fetched from {})\n",
            layer.digest,
            if layer.urls.is_empty() {
                "nowhere: it has no urls".to_owned()
            } else {
                layer.urls.join(", ")
            }
        ));
    }
    if let Some(note) = &r.converted {
        out.push_str(&format!("Note:   {note}\n"));
    }
    for layer in &r.recompressed {
        out.push_str(&format!(
            "Layer:  {} recompressed to {} ({}, {})\n",
            layer.from,
            layer.digest,
            layer.media_type,
            human_size(layer.size)
        ));
    }
    for note in &r.notes {
        out.push_str(&format!("Warning: {note}\n"));
    }
    out
}

fn describe_sync(r: &SyncResult) -> String {
    let (src, dst) = (&r.job.src, &r.job.dst);
    match &r.outcome {
        SyncOutcome::Copied(report) => format!(
            "copied  {src} -> {dst}  {} ({} blobs sent, {} mounted, {} present)\n",
            report.digest, report.blobs_copied, report.blobs_mounted, report.blobs_skipped
        ),
        SyncOutcome::Skipped {
            digest,
            referrers_copied: 0,
        } => format!("same    {src} -> {dst}  {digest}\n"),
        SyncOutcome::Skipped {
            digest,
            referrers_copied,
        } => {
            format!("same    {src} -> {dst}  {digest} ({referrers_copied} new referrers copied)\n")
        }
        SyncOutcome::Failed { kind, message } => {
            format!("failed  {src} -> {dst}  {kind}: {message}\n")
        }
    }
}
