/**
 * One panel of the page: a card with a title, a short explanation, a button and a result line (the
 * Chromium test clicks the button and reads the result, through the `data-*` attributes set here), plus
 * room for what a panel shows besides (a log, a chart, an editor) and the module's source and report.
 */
export interface ModuleReport {
  readonly file: string
  readonly instrumented: readonly string[]
  readonly sites: number
  readonly sizeBefore: number
  readonly sizeAfter: number
  readonly legacyExceptionsTranslated: boolean
}

export interface PanelSpec {
  id: string
  title: string
  /** HTML (static text of ours). */
  blurb: string
  button: string
  /** Runs the panel; resolves to the result text. */
  run(panel: Panel): Promise<string>
  sources: { name: string; text: string }[]
  reports: ModuleReport[]
}

const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`

export function describeReport(r: ModuleReport): string {
  const legacy = r.legacyExceptionsTranslated ? ', legacy try/catch translated first' : ''
  const n = r.instrumented.length
  return `${r.file}: ${n} function${n === 1 ? '' : 's'} instrumented, ${r.sites} call sites, ${kb(r.sizeBefore)} → ${kb(r.sizeAfter)}${legacy}`
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props)
  e.append(...children)
  return e
}

export class Panel {
  readonly root: HTMLElement
  readonly button: HTMLButtonElement
  readonly result: HTMLOutputElement
  /** Where a panel puts what it shows besides the result. */
  readonly extra: HTMLDivElement
  private readonly reportList: HTMLUListElement

  constructor(
    parent: HTMLElement,
    readonly spec: PanelSpec,
  ) {
    this.button = element('button', { type: 'button', textContent: spec.button })
    this.result = element('output', { className: 'result', textContent: 'not run yet' })
    this.result.dataset.state = 'idle'
    this.extra = element('div', { className: 'extra' })
    this.reportList = element('ul', { className: 'report' })
    const sources = spec.sources.map(s =>
      element(
        'details',
        {},
        element('summary', { textContent: s.name }),
        element('pre', { textContent: s.text }),
      ),
    )
    const blurb = element('p')
    blurb.innerHTML = spec.blurb
    this.root = element(
      'section',
      { className: 'panel', id: spec.id },
      element('h2', { textContent: spec.title }),
      blurb,
      element('div', { className: 'actions' }, this.button),
      this.result,
      this.extra,
      this.reportList,
      ...sources,
    )
    this.setReports(spec.reports)
    this.button.addEventListener('click', () => void this.run())
    parent.append(this.root)
  }

  setReports(reports: readonly ModuleReport[]): void {
    this.reportList.replaceChildren(...reports.map(r => element('li', { textContent: describeReport(r) })))
  }

  /** Runs the panel; the result element says `running`, then `done` or `error`. */
  async run(): Promise<void> {
    this.button.disabled = true
    this.result.dataset.state = 'running'
    this.result.textContent = 'running…'
    try {
      this.result.textContent = await this.spec.run(this)
      this.result.dataset.state = 'done'
    } catch (e) {
      this.result.textContent = `error: ${e instanceof Error ? e.message : String(e)}`
      this.result.dataset.state = 'error'
      console.error(e)
    } finally {
      this.button.disabled = false
    }
  }
}

export { element }
