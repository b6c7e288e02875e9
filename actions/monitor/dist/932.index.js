export const id = 932;
export const ids = [932,721];
export const modules = {

/***/ 40932:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   GitHubForge: () => (/* binding */ GitHubForge)
/* harmony export */ });
/* unused harmony exports MAX_COMMENT, deploymentTask */
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(73024);
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_fs__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(51455);
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(node_fs_promises__WEBPACK_IMPORTED_MODULE_1__);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(76760);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_2___default = /*#__PURE__*/__webpack_require__.n(node_path__WEBPACK_IMPORTED_MODULE_2__);
/* harmony import */ var _actions_core__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(3894);
/* harmony import */ var _actions_github__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(61351);
/* harmony import */ var _github_artifact_js__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(49721);
/* harmony import */ var _model_dir_files_js__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(73824);
/* harmony import */ var _util_errors_js__WEBPACK_IMPORTED_MODULE_7__ = __webpack_require__(70017);
/* harmony import */ var _types_js__WEBPACK_IMPORTED_MODULE_8__ = __webpack_require__(78286);
/**
 * The GitHub forge, through the official toolkit: releases and their assets, workflow artifacts,
 * one pull-request comment per model (found by a hidden marker, updated on every push), a commit
 * status with the verdict, and the job summary.
 */









/** GitHub refuses comments longer than this. */
const MAX_COMMENT = 65_536;
/** The model directory's files a release carries. */
const MODEL_ASSETS = _model_dir_files_js__WEBPACK_IMPORTED_MODULE_6__/* .RELEASED_FILES */ .gS;
/** The `task` of a deployment of `model`: deployments of several models share the environments. */
const deploymentTask = (model) => `deploy:${model}`;
function safeJson(text) {
    try {
        return JSON.parse(text);
    }
    catch {
        return null;
    }
}
function status(e) {
    return e.status;
}
function alreadyPromoted(tag, e) {
    return new _util_errors_js__WEBPACK_IMPORTED_MODULE_7__/* .CdlError */ ._G(`${tag} is already promoted (GitHub refused the release: HTTP 422 ${e.message.split('\n')[0]})`);
}
class GitHubForge {
    kind = 'github';
    owner;
    repo;
    octokit;
    /** The pull request of the triggering event, if any. */
    pullRequest;
    /** The commit the verdict belongs to: the pull request's head, else $GITHUB_SHA. */
    sha;
    log;
    token;
    assetCache = new Map();
    constructor(opts) {
        const repository = opts.repository ?? process.env.GITHUB_REPOSITORY ?? '';
        const [owner, repo, ...rest] = repository.split('/');
        if (!owner || !repo || rest.length)
            throw new _util_errors_js__WEBPACK_IMPORTED_MODULE_7__/* .UsageError */ .eb(`Invalid repository '${repository}'. Expected format {owner}/{repo}.`);
        this.owner = owner;
        this.repo = repo;
        this.log = opts.log ?? (() => { });
        this.token = opts.token;
        const baseUrl = (opts.apiUrl ?? process.env.GITHUB_API_URL ?? 'https://api.github.com').replace(/\/+$/, '');
        this.octokit = _actions_github__WEBPACK_IMPORTED_MODULE_4__/* .getOctokit */ .Q(opts.token, { baseUrl });
        let payload = {};
        const eventPath = opts.eventPath ?? process.env.GITHUB_EVENT_PATH;
        if (eventPath && (0,node_fs__WEBPACK_IMPORTED_MODULE_0__.existsSync)(eventPath)) {
            try {
                payload = JSON.parse((0,node_fs__WEBPACK_IMPORTED_MODULE_0__.readFileSync)(eventPath, 'utf8'));
            }
            catch {
                payload = {};
            }
        }
        this.pullRequest = payload.pull_request?.number ?? (payload.issue?.pull_request ? payload.issue.number : undefined);
        this.sha = payload.pull_request?.head?.sha ?? opts.sha ?? process.env.GITHUB_SHA;
    }
    describe() {
        return `${this.owner}/${this.repo} on GitHub`;
    }
    async listReleases(model) {
        const all = [];
        // Newest first; three pages (300 releases) reach far enough back for a baseline and a chart.
        for (let page = 1; page <= 3; page++) {
            const res = await this.octokit.rest.repos.listReleases({ owner: this.owner, repo: this.repo, per_page: 100, page });
            for (const r of res.data) {
                if (r.draft || r.prerelease)
                    continue;
                all.push({
                    tag: r.tag_name,
                    name: r.name,
                    published_at: r.published_at,
                    commit: r.target_commitish,
                    url: r.html_url,
                    id: r.id,
                });
            }
            if (res.data.length < 100)
                break;
        }
        return (0,_types_js__WEBPACK_IMPORTED_MODULE_8__/* .releasesOfModel */ .Jl)(all, model);
    }
    async getRelease(tag) {
        try {
            const { data: r } = await this.octokit.rest.repos.getReleaseByTag({ owner: this.owner, repo: this.repo, tag });
            return {
                tag: r.tag_name,
                name: r.name,
                published_at: r.published_at,
                commit: r.target_commitish,
                url: r.html_url,
                id: r.id,
            };
        }
        catch (e) {
            if (status(e) === 404)
                return undefined;
            throw e;
        }
    }
    async assets(release) {
        const id = Number(release.id);
        const cached = this.assetCache.get(id);
        if (cached)
            return cached;
        const res = await this.octokit.rest.repos.listReleaseAssets({
            owner: this.owner,
            repo: this.repo,
            release_id: id,
            per_page: 100,
        });
        const list = res.data.map((a) => ({ id: a.id, name: a.name }));
        this.assetCache.set(id, list);
        return list;
    }
    async assetBytes(id) {
        const res = await this.octokit.rest.repos.getReleaseAsset({
            owner: this.owner,
            repo: this.repo,
            asset_id: id,
            headers: { accept: 'application/octet-stream' },
        });
        const data = res.data;
        if (data instanceof ArrayBuffer)
            return new Uint8Array(data);
        if (ArrayBuffer.isView(data))
            return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
        if (typeof data === 'string')
            return new TextEncoder().encode(data);
        return new TextEncoder().encode(JSON.stringify(data));
    }
    /** The asset holding `file` of a model directory: `model.onnx`, or `<anything>-model.onnx`. */
    static pick(assets, file) {
        return assets.find((a) => a.name === file) ?? assets.find((a) => a.name.endsWith(`-${file}`));
    }
    async downloadRelease(release, dest) {
        const assets = await this.assets(release);
        if (!GitHubForge.pick(assets, _model_dir_files_js__WEBPACK_IMPORTED_MODULE_6__/* .MODEL_FILES */ .AS.onnx)) {
            throw new _util_errors_js__WEBPACK_IMPORTED_MODULE_7__/* .CdlError */ ._G(`release ${release.tag} has no model.onnx asset (assets: ${assets.map((a) => a.name).join(', ') || 'none'}); expected the model directory's files`);
        }
        await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.mkdir)(dest, { recursive: true });
        for (const f of MODEL_ASSETS) {
            const a = GitHubForge.pick(assets, f);
            if (a)
                await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.writeFile)(node_path__WEBPACK_IMPORTED_MODULE_2___default().join(dest, f), await this.assetBytes(a.id));
        }
        this.log(`baseline: release ${release.tag} of ${this.owner}/${this.repo} downloaded to ${dest}`);
        return dest;
    }
    async releaseMetrics(release) {
        const a = GitHubForge.pick(await this.assets(release), _model_dir_files_js__WEBPACK_IMPORTED_MODULE_6__/* .MODEL_FILES */ .AS.metrics);
        if (!a)
            return undefined;
        try {
            return JSON.parse(new TextDecoder().decode(await this.assetBytes(a.id)));
        }
        catch {
            return undefined;
        }
    }
    /**
     * A workflow artifact holding a model directory: from this run, else from the newest run of the
     * repository that uploaded one by that name (a release deploys the artifact of its commit's run).
     */
    async downloadArtifact(name, dest) {
        try {
            return await (0,_github_artifact_js__WEBPACK_IMPORTED_MODULE_5__/* .downloadModelDir */ .f)(name, dest);
        }
        catch (e) {
            const found = await this.findArtifact(name, dest);
            if (!found)
                throw new _util_errors_js__WEBPACK_IMPORTED_MODULE_7__/* .CdlError */ ._G(`artifact ${name}: not in this run (${e.message}) nor in any run of ${this.owner}/${this.repo}`);
            return found.dir;
        }
    }
    async findArtifact(name, dest) {
        return (0,_github_artifact_js__WEBPACK_IMPORTED_MODULE_5__.findRepoArtifact)(name, dest, {
            repository: `${this.owner}/${this.repo}`,
            token: this.token,
            apiUrl: this.octokit.request.endpoint.DEFAULTS.baseUrl,
            log: this.log,
        });
    }
    details(r) {
        return {
            tag: r.tag_name,
            name: r.name,
            published_at: r.published_at,
            commit: r.target_commitish,
            url: r.html_url,
            id: r.id,
            draft: Boolean(r.draft),
            immutable: Boolean(r.immutable),
            assets: (r.assets ?? []).map((a) => ({ name: a.name, size: a.size, digest: a.digest ?? null, id: a.id })),
            ...(r.upload_url ? { uploadUrl: r.upload_url } : {}),
        };
    }
    async releaseDetails(tag) {
        try {
            const { data } = await this.octokit.rest.repos.getReleaseByTag({ owner: this.owner, repo: this.repo, tag });
            return this.details(data);
        }
        catch (e) {
            if (status(e) !== 404)
                throw e;
        }
        // Drafts are not found by tag: look through the newest releases.
        const { data } = await this.octokit.rest.repos.listReleases({ owner: this.owner, repo: this.repo, per_page: 100 });
        const draft = data.find((r) => r.draft && r.tag_name === tag);
        return draft ? this.details(draft) : undefined;
    }
    /** A draft has no git tag on GitHub: the tag is made when the release is published. */
    async createDraftRelease(tag, opts) {
        try {
            const { data } = await this.octokit.rest.repos.createRelease({
                owner: this.owner,
                repo: this.repo,
                tag_name: tag,
                ...(opts.commit ? { target_commitish: opts.commit } : {}),
                name: opts.name ?? tag,
                ...(opts.body ? { body: opts.body } : {}),
                draft: true,
            });
            return this.details(data);
        }
        catch (e) {
            if (status(e) === 422)
                throw alreadyPromoted(tag, e);
            throw e;
        }
    }
    async uploadAsset(release, name, file) {
        if (!release.draft)
            throw new _util_errors_js__WEBPACK_IMPORTED_MODULE_7__/* .CdlError */ ._G(`upload ${name} to ${release.tag}: the release is published; assets are only added to a draft`);
        const uploadUrl = release.uploadUrl;
        const data = await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.readFile)(file);
        const { data: a } = await this.octokit.rest.repos.uploadReleaseAsset({
            owner: this.owner,
            repo: this.repo,
            release_id: Number(release.id),
            name,
            // Octokit sends the bytes as they are; its types only know strings.
            data: data,
            headers: { 'content-type': 'application/octet-stream', 'content-length': data.length },
            ...(uploadUrl ? { baseUrl: uploadUrl.replace(/\/repos\/.*$/, '') } : {}),
        });
        this.assetCache.delete(Number(release.id));
        return { name: a.name, size: a.size, digest: a.digest ?? null, id: a.id };
    }
    /**
     * Publishing makes the tag; of two drafts of one tag (two promotions at once) GitHub publishes
     * the first and refuses the second with 422, which the registry reports and cleans up after.
     */
    async publishRelease(release) {
        try {
            const { data } = await this.octokit.rest.repos.updateRelease({
                owner: this.owner,
                repo: this.repo,
                release_id: Number(release.id),
                draft: false,
            });
            return this.details(data);
        }
        catch (e) {
            if (status(e) === 422)
                throw alreadyPromoted(release.tag, e);
            throw e;
        }
    }
    async deleteDraft(release) {
        if (!release.draft)
            throw new _util_errors_js__WEBPACK_IMPORTED_MODULE_7__/* .CdlError */ ._G(`delete ${release.tag}: the release is published; only drafts are deleted`);
        await this.octokit.rest.repos.deleteRelease({ owner: this.owner, repo: this.repo, release_id: Number(release.id) });
    }
    async downloadAsset(_release, asset, file) {
        await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.mkdir)(node_path__WEBPACK_IMPORTED_MODULE_2___default().dirname(file), { recursive: true });
        await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.writeFile)(file, await this.assetBytes(Number(asset.id)));
    }
    deployment(d, state, environmentUrl) {
        const payload = (typeof d.payload === 'string' ? safeJson(d.payload) : d.payload);
        return {
            id: d.id,
            model: String(payload?.model ?? d.task.replace(/^deploy:/, '')),
            environment: d.environment,
            tag: d.ref,
            version: String(payload?.version ?? ''),
            commit: d.sha ?? null,
            created_at: d.created_at,
            state,
            description: d.description ?? '',
            environment_url: environmentUrl ?? null,
            payload: payload ?? {},
        };
    }
    async createDeployment(d) {
        const res = await this.octokit.rest.repos.createDeployment({
            owner: this.owner,
            repo: this.repo,
            ref: d.tag,
            task: deploymentTask(d.model),
            environment: d.environment,
            description: d.description.slice(0, 140),
            // The release was checked by cdl (checksums, blessing); commit statuses are not required.
            required_contexts: [],
            auto_merge: false,
            payload: { ...(d.payload ?? {}), model: d.model, version: d.version, tag: d.tag },
            production_environment: d.environment === 'production',
        });
        if (res.status !== 201)
            throw new _util_errors_js__WEBPACK_IMPORTED_MODULE_7__/* .CdlError */ ._G(`deployment of ${d.tag} to ${d.environment} not created: ${JSON.stringify(res.data).slice(0, 200)}`);
        return this.deployment(res.data, 'queued');
    }
    async setDeploymentStatus(d, state, update = {}) {
        await this.octokit.rest.repos.createDeploymentStatus({
            owner: this.owner,
            repo: this.repo,
            deployment_id: Number(d.id),
            state,
            ...(update.description ? { description: update.description.slice(0, 140) } : {}),
            ...(update.environmentUrl ? { environment_url: update.environmentUrl } : {}),
            ...(update.logUrl ? { log_url: update.logUrl } : {}),
            auto_inactive: true,
        });
        return {
            ...d,
            state,
            ...(update.description ? { description: update.description } : {}),
            ...(update.environmentUrl ? { environment_url: update.environmentUrl } : {}),
        };
    }
    async listDeployments(model, environment) {
        const { data } = await this.octokit.rest.repos.listDeployments({
            owner: this.owner,
            repo: this.repo,
            task: deploymentTask(model),
            ...(environment ? { environment } : {}),
            per_page: 100,
        });
        const out = [];
        for (const d of data) {
            const { data: statuses } = await this.octokit.rest.repos.listDeploymentStatuses({
                owner: this.owner,
                repo: this.repo,
                deployment_id: d.id,
                per_page: 1,
            });
            const latest = statuses[0];
            out.push(this.deployment(d, latest?.state ?? 'queued', latest?.environment_url));
        }
        return out.sort((a, b) => b.created_at.localeCompare(a.created_at) || Number(b.id) - Number(a.id));
    }
    /** The one report comment of `model` on the pull request: updated when it exists, created otherwise. */
    async upsertComment(model, markdown) {
        if (!this.pullRequest)
            throw new _util_errors_js__WEBPACK_IMPORTED_MODULE_7__/* .CdlError */ ._G('not a pull request: no comment to write');
        const marker = (0,_types_js__WEBPACK_IMPORTED_MODULE_8__/* .reportMarker */ .lO)(model);
        let body = `${marker}\n${markdown}`;
        if (body.length > MAX_COMMENT)
            body = `${body.slice(0, MAX_COMMENT - 80)}\n\n… (cut at GitHub's comment size limit; the job summary has it all)`;
        const comments = await this.octokit.paginate(this.octokit.rest.issues.listComments, {
            owner: this.owner,
            repo: this.repo,
            issue_number: this.pullRequest,
            per_page: 100,
        });
        const mine = comments.find((c) => c.body?.includes(marker));
        if (mine) {
            const { data } = await this.octokit.rest.issues.updateComment({
                owner: this.owner,
                repo: this.repo,
                comment_id: mine.id,
                body,
            });
            return { id: data.id, url: data.html_url, action: 'updated' };
        }
        const { data } = await this.octokit.rest.issues.createComment({
            owner: this.owner,
            repo: this.repo,
            issue_number: this.pullRequest,
            body,
        });
        return { id: data.id, url: data.html_url, action: 'created' };
    }
    async publish(p) {
        const out = { files: [], notes: [] };
        const warn = (what, e) => {
            const msg = `${what}: ${e.message}${status(e) === 403 ? ' (the token lacks the permission; see the action README)' : ''}`;
            out.notes.push(msg);
            _actions_core__WEBPACK_IMPORTED_MODULE_3__/* .warning */ .$e(msg);
        };
        if (p.comment && this.pullRequest) {
            try {
                out.comment = await this.upsertComment(p.model, p.markdown);
            }
            catch (e) {
                warn('pull-request comment', e);
            }
        }
        else if (p.comment)
            out.notes.push('not a pull request: no comment');
        if (this.sha) {
            const state = p.decision === 'blessed' ? 'success' : 'failure';
            const context = `cdl/evaluate-gate (${p.model})`;
            const server = process.env.GITHUB_SERVER_URL ?? 'https://github.com';
            const runId = process.env.GITHUB_RUN_ID;
            try {
                await this.octokit.rest.repos.createCommitStatus({
                    owner: this.owner,
                    repo: this.repo,
                    sha: this.sha,
                    state,
                    context,
                    description: p.description.length > 140 ? `${p.description.slice(0, 139)}…` : p.description,
                    ...(runId ? { target_url: `${server}/${this.owner}/${this.repo}/actions/runs/${runId}` } : {}),
                });
                out.status = { state, context, sha: this.sha };
            }
            catch (e) {
                warn('commit status', e);
            }
        }
        if (process.env.GITHUB_STEP_SUMMARY) {
            await _actions_core__WEBPACK_IMPORTED_MODULE_3__/* .summary */ .z.addRaw(p.markdown, true).write();
            out.summary = true;
        }
        return out;
    }
}


/***/ }),

/***/ 49721:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   f: () => (/* binding */ downloadModelDir),
/* harmony export */   findRepoArtifact: () => (/* binding */ findRepoArtifact)
/* harmony export */ });
/* unused harmony export uploadModelDir */
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(51455);
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_fs_promises__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(76760);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(node_path__WEBPACK_IMPORTED_MODULE_1__);
/* harmony import */ var _actions_artifact__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(91252);
/* harmony import */ var _actions_github__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(61351);
/** Model directories as workflow artifacts, through the unmodified @actions/artifact client. */




async function filesUnder(dir) {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}
async function uploadModelDir(dir, name, retentionDays) {
    const root = path.resolve(dir);
    const files = await filesUnder(root);
    const client = new DefaultArtifactClient();
    const res = await client.uploadArtifact(name, files, root, retentionDays ? { retentionDays } : undefined);
    return { id: res.id, size: res.size };
}
async function downloadModelDir(name, dir, opts = {}) {
    const client = new _actions_artifact__WEBPACK_IMPORTED_MODULE_2__/* .DefaultArtifactClient */ .t9();
    const findBy = opts.runId && opts.repository && opts.token
        ? {
            workflowRunId: opts.runId,
            repositoryOwner: opts.repository.split('/')[0],
            repositoryName: opts.repository.split('/')[1],
            token: opts.token,
        }
        : undefined;
    const { artifact } = await client.getArtifact(name, findBy ? { findBy } : undefined);
    const res = await client.downloadArtifact(artifact.id, { path: dir, ...(findBy ? { findBy } : {}) });
    return res.downloadPath ?? dir;
}
/**
 * The newest unexpired artifact `name` of any workflow run of `repository`, through the Actions
 * REST API (GitHub, or the results server of `cdl run`, which serves the same routes), downloaded
 * into `dest`; undefined when no run kept one.
 */
async function findRepoArtifact(name, dest, opts) {
    const [owner, repo] = opts.repository.split('/');
    const baseUrl = (opts.apiUrl ?? process.env.GITHUB_API_URL ?? 'https://api.github.com').replace(/\/+$/, '');
    const octokit = _actions_github__WEBPACK_IMPORTED_MODULE_3__/* .getOctokit */ .Q(opts.token, { baseUrl });
    const { data } = await octokit.rest.actions.listArtifactsForRepo({ owner, repo, name, per_page: 10 });
    const found = data.artifacts.find((a) => a.name === name && !a.expired && a.workflow_run?.id !== undefined);
    if (!found)
        return undefined;
    const run = found.workflow_run.id;
    opts.log?.(`artifact ${name}: kept by workflow run ${run}`);
    const dir = await downloadModelDir(name, dest, { runId: run, repository: opts.repository, token: opts.token });
    return { dir, run: String(run), created_at: found.created_at ?? null };
}


/***/ })

};
