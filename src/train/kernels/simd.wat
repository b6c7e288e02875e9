;; SIMD helpers that run on the TF.js wasm backend's own memory (imported), so
;; they read and write tensors in place. Built into simd-module.ts by
;; `node src/train/kernels/build-simd.mjs` (needs wat2wasm from Debian's wabt).
;; All pointers are byte offsets into the heap.
(module
  (import "env" "memory" (memory 1))

  ;; MaxPoolGrad for 2x2 windows, stride 2, no padding, C % 4 == 0:
  ;; dx[first argmax of each window] = dy, the three others 0. A window's
  ;; running maximum starts at -Infinity and moves only on a strictly greater
  ;; value (NaN never wins), as in the cpu backend. Rows/columns not covered by
  ;; any window (odd H or W) are left alone: the caller clears dx for those.
  ;;   x, dx: [B, H, W, C]; dy: [B, OH, OW, C]
  (func (export "maxPoolGrad2x2")
    (param $x i32) (param $dy i32) (param $dx i32)
    (param $B i32) (param $H i32) (param $W i32) (param $C i32) (param $OH i32) (param $OW i32)
    (local $row i32) (local $b i32) (local $oy i32) (local $ox i32) (local $c i32)
    (local $i0 i32) (local $i1 i32) (local $i2 i32) (local $i3 i32) (local $o i32)
    (local $cb i32) (local $r0 i32)
    (local $v v128) (local $m v128) (local $k0 v128) (local $k1 v128) (local $k2 v128) (local $k3 v128) (local $g v128)
    (local.set $cb (i32.shl (local.get $C) (i32.const 2)))        ;; C floats in bytes
    (local.set $row (i32.mul (local.get $W) (local.get $cb)))      ;; one input row in bytes
    (local.set $o (local.get $dy))
    (local.set $b (i32.const 0))
    (block $bdone (loop $bloop
      (br_if $bdone (i32.ge_u (local.get $b) (local.get $B)))
      (local.set $oy (i32.const 0))
      (block $ydone (loop $yloop
        (br_if $ydone (i32.ge_u (local.get $oy) (local.get $OH)))
        ;; r0 = ((b*H + 2*oy) * row)
        (local.set $r0 (i32.mul
          (i32.add (i32.mul (local.get $b) (local.get $H)) (i32.shl (local.get $oy) (i32.const 1)))
          (local.get $row)))
        (local.set $ox (i32.const 0))
        (block $xdone (loop $xloop
          (br_if $xdone (i32.ge_u (local.get $ox) (local.get $OW)))
          ;; byte offset of the window's top-left element relative to the tensor start
          (local.set $i0 (i32.add (local.get $r0) (i32.mul (i32.shl (local.get $ox) (i32.const 1)) (local.get $cb))))
          (local.set $i1 (i32.add (local.get $i0) (local.get $cb)))
          (local.set $i2 (i32.add (local.get $i0) (local.get $row)))
          (local.set $i3 (i32.add (local.get $i2) (local.get $cb)))
          (local.set $c (i32.const 0))
          (block $cdone (loop $cloop
            (br_if $cdone (i32.ge_u (local.get $c) (local.get $cb)))
            (local.set $m (v128.const f32x4 -inf -inf -inf -inf))
            (local.set $v (v128.load (i32.add (local.get $x) (i32.add (local.get $i0) (local.get $c)))))
            (local.set $k0 (f32x4.gt (local.get $v) (local.get $m)))
            (local.set $m (v128.bitselect (local.get $v) (local.get $m) (local.get $k0)))
            (local.set $v (v128.load (i32.add (local.get $x) (i32.add (local.get $i1) (local.get $c)))))
            (local.set $k1 (f32x4.gt (local.get $v) (local.get $m)))
            (local.set $m (v128.bitselect (local.get $v) (local.get $m) (local.get $k1)))
            (local.set $v (v128.load (i32.add (local.get $x) (i32.add (local.get $i2) (local.get $c)))))
            (local.set $k2 (f32x4.gt (local.get $v) (local.get $m)))
            (local.set $m (v128.bitselect (local.get $v) (local.get $m) (local.get $k2)))
            (local.set $v (v128.load (i32.add (local.get $x) (i32.add (local.get $i3) (local.get $c)))))
            (local.set $k3 (f32x4.gt (local.get $v) (local.get $m)))
            ;; the last position that raised the maximum is the first argmax
            (local.set $k2 (v128.andnot (local.get $k2) (local.get $k3)))
            (local.set $k1 (v128.andnot (v128.andnot (local.get $k1) (local.get $k3)) (local.get $k2)))
            (local.set $k0 (v128.andnot (v128.andnot (v128.andnot (local.get $k0) (local.get $k3)) (local.get $k2)) (local.get $k1)))
            (local.set $g (v128.load (i32.add (local.get $o) (local.get $c))))
            (v128.store (i32.add (local.get $dx) (i32.add (local.get $i0) (local.get $c))) (v128.and (local.get $g) (local.get $k0)))
            (v128.store (i32.add (local.get $dx) (i32.add (local.get $i1) (local.get $c))) (v128.and (local.get $g) (local.get $k1)))
            (v128.store (i32.add (local.get $dx) (i32.add (local.get $i2) (local.get $c))) (v128.and (local.get $g) (local.get $k2)))
            (v128.store (i32.add (local.get $dx) (i32.add (local.get $i3) (local.get $c))) (v128.and (local.get $g) (local.get $k3)))
            (local.set $c (i32.add (local.get $c) (i32.const 16)))
            (br $cloop)))
          (local.set $o (i32.add (local.get $o) (local.get $cb)))
          (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
          (br $xloop)))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br $yloop)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bloop)))
  )

;; out[j] = sum over r of x[r*cols + j] for cols % 4 == 0, accumulated in
  ;; float64 in the scratch buffer acc (cols float64, 16-byte aligned), row by row.
  ;;   x: [rows, cols] float32; out: [cols] float32
  (func (export "sumRows")
    (param $x i32) (param $out i32) (param $rows i32) (param $cols i32) (param $acc i32)
    (local $j i32) (local $p i32) (local $a i32) (local $stride i32) (local $end i32) (local $rowEnd i32)
    (local $v v128)
    (local.set $stride (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $end (i32.add (local.get $x) (i32.mul (local.get $rows) (local.get $stride))))
    (memory.fill (local.get $acc) (i32.const 0) (i32.shl (local.get $cols) (i32.const 3)))
    (local.set $p (local.get $x))
    (block $rdone (loop $rloop
      (br_if $rdone (i32.ge_u (local.get $p) (local.get $end)))
      (local.set $rowEnd (i32.add (local.get $p) (local.get $stride)))
      (local.set $a (local.get $acc))
      (block $jdone (loop $jloop
        (br_if $jdone (i32.ge_u (local.get $p) (local.get $rowEnd)))
        (local.set $v (v128.load (local.get $p)))
        (v128.store (local.get $a)
          (f64x2.add (v128.load (local.get $a)) (f64x2.promote_low_f32x4 (local.get $v))))
        (v128.store offset=16 (local.get $a)
          (f64x2.add (v128.load offset=16 (local.get $a))
            (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (local.set $a (i32.add (local.get $a) (i32.const 32)))
        (br $jloop)))
      (br $rloop)))
    (local.set $j (i32.const 0))
    (local.set $a (local.get $acc))
    (block $odone (loop $oloop
      (br_if $odone (i32.ge_u (local.get $j) (local.get $stride)))
      (v128.store (i32.add (local.get $out) (local.get $j))
        (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
          (f32x4.demote_f64x2_zero (v128.load (local.get $a))) (f32x4.demote_f64x2_zero (v128.load offset=16 (local.get $a)))))
      (local.set $j (i32.add (local.get $j) (i32.const 16)))
      (local.set $a (i32.add (local.get $a) (i32.const 32)))
      (br $oloop)))
  )
)
