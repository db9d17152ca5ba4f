/*
 * The code faultline-timeskew copies into a target process (x86-64 Linux, System V ABI).
 *
 * One block, position independent: a magic word, the offset variables, then three leaf functions that
 * stand in for the vDSO's clock_gettime, gettimeofday and time. Each asks the kernel directly (the
 * `syscall` instruction, so it never calls back into the patched vDSO) and adds the offset when the
 * clock is one the fault shifts. The variables are read RIP-relative, so the block works wherever the
 * helper maps it. Nothing here is executed by the helper itself: it is copied as bytes (.rodata).
 *
 * Registers: the functions may clobber rax, rcx, rdx, rsi, rdi, r8-r11 (caller-saved); `syscall`
 * clobbers rcx and r11 and keeps rdi, rsi, r8.
 */
	.section .rodata
	.balign 16
	.globl fl_blob_start, fl_blob_end
	.globl fl_var_mask, fl_var_sec, fl_var_nsec, fl_var_usec, fl_var_until
	.globl fl_fake_clock_gettime, fl_fake_gettimeofday, fl_fake_time

fl_blob_start:
	/* recovery only undoes a jump whose target page starts with this */
	.ascii "FLTSKEW1"
fl_var_mask:	.quad 0		/* bit n set: clock id n is shifted (bit 0 = CLOCK_REALTIME) */
fl_var_sec:	.quad 0		/* whole seconds of the offset (floor, may be negative) */
fl_var_nsec:	.quad 0		/* the rest, 0 <= nsec < 1e9 */
fl_var_usec:	.quad 0		/* nsec / 1000, for gettimeofday */
fl_var_until:	.quad 0		/* CLOCK_MONOTONIC second the shift lapses at unless the daemon renews it; 0 = never */
fl_var_until_real: .quad 0	/* the same moment in CLOCK_REALTIME seconds (written together with fl_var_until) */

	.balign 16
/*
 * The dead-man switch, without a second system call where the clock just read can tell: rcx holds the
 * unshifted seconds of clock edi. eax = 1 once that clock has passed its deadline (the daemon that renews
 * the deadlines is gone), else 0. Keeps rdi, rsi, r8; clobbers rax, rcx, rdx, r9, r10, r11.
 */
fl_expired_for:
	xor	%eax, %eax
	cmp	$0, %edi		/* CLOCK_REALTIME */
	je	1f
	cmp	$5, %edi		/* CLOCK_REALTIME_COARSE */
	je	1f
	cmp	$1, %edi		/* CLOCK_MONOTONIC */
	je	2f
	cmp	$4, %edi		/* CLOCK_MONOTONIC_RAW */
	je	2f
	cmp	$6, %edi		/* CLOCK_MONOTONIC_COARSE */
	je	2f
	jmp	fl_expired		/* any other clock: ask CLOCK_MONOTONIC */
1:	mov	fl_var_until_real(%rip), %rdx
	jmp	3f
2:	mov	fl_var_until(%rip), %rdx
3:	test	%rdx, %rdx
	jz	4f
	cmp	%rdx, %rcx
	setae	%al
4:	ret

	.balign 16
/* As fl_expired_for, for a clock that cannot tell: one clock_gettime(CLOCK_MONOTONIC) system call. */
fl_expired:
	xor	%eax, %eax
	mov	fl_var_until(%rip), %rdx
	test	%rdx, %rdx
	jz	1f
	mov	%rdi, %r9
	mov	%rsi, %r10
	sub	$24, %rsp
	mov	$228, %eax		/* __NR_clock_gettime(CLOCK_MONOTONIC, rsp) */
	mov	$1, %edi
	mov	%rsp, %rsi
	syscall
	mov	(%rsp), %rcx
	add	$24, %rsp
	mov	%r9, %rdi
	mov	%r10, %rsi
	xor	%eax, %eax
	cmp	fl_var_until(%rip), %rcx
	setae	%al
1:	ret

	.balign 16
/* int clock_gettime(clockid_t clk (edi), struct timespec *tp (rsi)) */
fl_fake_clock_gettime:
	mov	$228, %eax		/* __NR_clock_gettime */
	syscall
	test	%eax, %eax
	jnz	1f			/* error: return it as the vDSO does (-errno) */
	cmp	$63, %edi		/* unsigned: dynamic (negative) clock ids are never shifted */
	ja	1f
	mov	%edi, %ecx
	mov	$1, %edx
	shl	%cl, %rdx
	test	fl_var_mask(%rip), %rdx
	jz	1f
	mov	(%rsi), %rcx
	call	fl_expired_for
	test	%eax, %eax
	jnz	3f
	mov	(%rsi), %rcx
	mov	8(%rsi), %rdx
	add	fl_var_sec(%rip), %rcx
	add	fl_var_nsec(%rip), %rdx
	cmp	$1000000000, %rdx
	jl	2f
	sub	$1000000000, %rdx
	inc	%rcx
2:	mov	%rcx, (%rsi)
	mov	%rdx, 8(%rsi)
3:	xor	%eax, %eax
1:	ret

	.balign 16
/* int gettimeofday(struct timeval *tv (rdi), struct timezone *tz (rsi)): shifted with CLOCK_REALTIME */
fl_fake_gettimeofday:
	mov	$96, %eax		/* __NR_gettimeofday */
	syscall
	test	%eax, %eax
	jnz	1f
	test	%rdi, %rdi
	jz	1f
	testq	$1, fl_var_mask(%rip)
	jz	1f
	mov	(%rdi), %rcx
	mov	fl_var_until_real(%rip), %rdx
	test	%rdx, %rdx
	jz	5f
	cmp	%rdx, %rcx
	jae	3f			/* the dead-man deadline passed: real time */
5:	mov	8(%rdi), %rdx
	add	fl_var_sec(%rip), %rcx
	add	fl_var_usec(%rip), %rdx
	cmp	$1000000, %rdx
	jl	2f
	sub	$1000000, %rdx
	inc	%rcx
2:	mov	%rcx, (%rdi)
	mov	%rdx, 8(%rdi)
3:	xor	%eax, %eax
1:	ret

	.balign 16
/* time_t time(time_t *tloc (rdi)): from CLOCK_REALTIME, so the nanoseconds carry into the seconds */
fl_fake_time:
	sub	$24, %rsp
	mov	%rdi, %r8
	mov	$228, %eax		/* __NR_clock_gettime(CLOCK_REALTIME, rsp) */
	xor	%edi, %edi
	mov	%rsp, %rsi
	syscall
	testq	$1, fl_var_mask(%rip)
	jz	2f
	mov	(%rsp), %rcx
	mov	fl_var_until_real(%rip), %rdx
	test	%rdx, %rdx
	jz	5f
	cmp	%rdx, %rcx
	jae	2f			/* the dead-man deadline passed: real time */
5:	mov	(%rsp), %rax
	mov	8(%rsp), %rdx
	add	fl_var_sec(%rip), %rax
	add	fl_var_nsec(%rip), %rdx
	cmp	$1000000000, %rdx
	jl	3f
	inc	%rax
	jmp	3f
2:	mov	(%rsp), %rax
3:	test	%r8, %r8
	jz	4f
	mov	%rax, (%r8)
4:	add	$24, %rsp
	ret

fl_blob_end:
	.section .note.GNU-stack,"",@progbits
