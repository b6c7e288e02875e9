/** Build provenance for release assets, signed and stored by the unmodified @actions/attest. */
import { attestProvenance as attest } from '@actions/attest';

export interface AttestSubject {
  name: string;
  digest: Record<string, string>;
}

/**
 * Sign the provenance of the given subjects (needs the workflow permissions `id-token: write`
 * and `attestations: write`). Verify with `gh attestation verify <asset> --repo OWNER/REPO`.
 */
export async function attestProvenance(subjects: AttestSubject[], token: string): Promise<{ id?: string; message: string }> {
  const res = await attest({ subjects, token });
  return {
    id: res.attestationID,
    message: `provenance attested (${res.attestationID ?? 'no id'}); verify with gh attestation verify <asset> --repo ${process.env.GITHUB_REPOSITORY ?? 'OWNER/REPO'}`,
  };
}
