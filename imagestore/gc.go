package imagestore

import "context"

// CollectGarbage deletes the blobs and unpacked layers that no image in
// the index reaches (what an interrupted removal or pull left behind),
// under the exclusive GC lock, and returns the bytes freed. Images
// themselves are kept, named or not.
func (s *Store) CollectGarbage(ctx context.Context) (int64, error) {
	gc, err := s.gcLock(true)
	if err != nil {
		return 0, err
	}
	defer gc.Unlock()
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return s.collectGarbage()
}
