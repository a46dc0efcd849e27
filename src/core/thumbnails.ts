/**
 * Thumbnails: a JPEG that fits a square box, made with sharp (libvips) from an image's bytes.
 * sharp's pixel limit guards against decompression bombs; a file sharp cannot read simply
 * gets no thumbnail.
 */
import sharp from 'sharp'

export async function makeThumbnail (image: Uint8Array, box: number): Promise<Uint8Array | undefined> {
  try {
    return await sharp(image, { limitInputPixels: 100_000_000, failOn: 'error' })
      .rotate() // honour EXIF orientation
      .resize(box, box, { fit: 'inside', withoutEnlargement: true })
      .flatten({ background: '#ffffff' })
      .jpeg({ quality: 80, mozjpeg: true })
      .toBuffer()
  } catch {
    return undefined
  }
}

export function isThumbnailable (mimetype: string | null | undefined): boolean {
  return mimetype != null && /^image\/(jpeg|png|webp|gif|avif|tiff|svg\+xml|heic|heif)$/.test(mimetype)
}
