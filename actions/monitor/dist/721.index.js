export const id = 721;
export const ids = [721];
export const modules = {

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
