/** The errno codes that mean the filesystem itself failed: the disk (or quota) is full, or it cannot be used right now. */
const FULL = new Set(['ENOSPC', 'EDQUOT']);
const UNAVAILABLE = new Set(['EROFS', 'EACCES', 'EPERM', 'EIO', 'ENOENT', 'ENOTDIR', 'ESTALE', 'EMFILE', 'ENFILE']);

/** What a failed filesystem call with this errno code amounts to; null for any other. */
export function fsFaultKind(code: string): 'full' | 'unavailable' | null {
  if (FULL.has(code)) return 'full';
  return UNAVAILABLE.has(code) ? 'unavailable' : null;
}
