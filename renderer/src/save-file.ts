/**
 * Hands a file made in the page to the browser's download handling: a normal download in the
 * browser shell, the save dialog in the Electron shell (electron/main.ts takes only blob: URLs of
 * our own page). Nothing navigates.
 */
export function saveFile(fileName: string, content: Blob): void {
  const url = URL.createObjectURL(content);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
