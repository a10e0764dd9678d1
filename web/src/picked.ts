/** Files chosen for upload, with their place: from the file picker, the folder picker, or a drop of files and folders. */
import type { PickedFile } from './uploads.ts';

/** The file or folder picker's files: a chosen folder's files carry their path inside it (`photos/2026/a.jpg`). */
export function pickedFromInput(files: FileList): PickedFile[] {
  return Array.from(files, (file) => ({ file, path: file.webkitRelativePath || file.name }));
}

/**
 * What was dropped, as entries; read during the drop event itself (the browser empties the DataTransfer after it).
 * A dropped folder is an entry to walk; without entry support, the dropped files alone.
 */
export function dropped(data: DataTransfer): (FileSystemEntry | File)[] {
  const items = Array.from(data.items).filter((item) => item.kind === 'file');
  if (items.length > 0 && typeof items[0]?.webkitGetAsEntry === 'function') {
    return items.flatMap((item): (FileSystemEntry | File)[] => {
      const entry = item.webkitGetAsEntry();
      if (entry) return [entry];
      const file = item.getAsFile();
      return file ? [file] : [];
    });
  }
  return Array.from(data.files);
}

/** Every file of the dropped entries, folders walked to the end, each with its path from the dropped item. */
export async function filesOf(entries: readonly (FileSystemEntry | File)[], max: number): Promise<PickedFile[]> {
  const found: PickedFile[] = [];
  const walk = async (entry: FileSystemEntry, path: string): Promise<void> => {
    if (found.length > max) return;
    if (entry.isFile) {
      const file = await new Promise<File>((resolve, reject) => {
        (entry as FileSystemFileEntry).file(resolve, reject);
      });
      found.push({ file, path: path + entry.name });
      return;
    }
    const reader = (entry as FileSystemDirectoryEntry).createReader();
    // readEntries gives a directory's entries a batch at a time, until an empty batch.
    for (;;) {
      const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => {
        reader.readEntries(resolve, reject);
      });
      if (batch.length === 0) return;
      for (const child of batch) await walk(child, `${path}${entry.name}/`);
    }
  };
  for (const entry of entries) {
    if (entry instanceof File) found.push({ file: entry, path: entry.name });
    else await walk(entry, '');
  }
  return found;
}
