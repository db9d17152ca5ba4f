import { screen, within } from '@testing-library/react';
import type { UserEvent } from '@testing-library/user-event';

// Grafana's Combobox renders its option list through @tanstack/react-virtual: only the rows that
// fit the measured height of the list are put in the DOM. jsdom lays nothing out (every size is 0),
// so an opened Combobox shows no option at all. Grafana's own Combobox tests give every element a
// fixed size (their comboboxTestSetup mocks getBoundingClientRect); virtual-core 3.19 measures the
// scroll element by clientWidth/clientHeight and rows by offsetHeight, so those get a size too.
// Only while a test file that asks for it runs, so a user can be driven as in a browser: click the
// field, see the options, click one.

const SIZE = 120;
const RECT = { x: 0, y: 0, top: 0, left: 0, bottom: SIZE, right: SIZE, width: SIZE, height: SIZE };
const MEASURED = ['clientWidth', 'clientHeight', 'offsetWidth', 'offsetHeight'] as const;

/** Call at the top level of a test file whose tests open a Combobox. */
export function useComboboxLayout(): void {
  const spies: jest.SpyInstance[] = [];
  beforeAll(() => {
    spies.push(jest.spyOn(Element.prototype, 'getBoundingClientRect').mockImplementation(() => ({ ...RECT, toJSON: () => RECT }) as DOMRect));
    for (const prop of MEASURED) spies.push(jest.spyOn(HTMLElement.prototype, prop, 'get').mockReturnValue(SIZE));
  });
  afterAll(() => {
    for (const spy of spies.splice(0)) spy.mockRestore();
  });
}

/** The open option list (Combobox puts it in a portal, outside the field). */
export async function comboboxOptions(): Promise<HTMLElement[]> {
  return screen.findAllByRole('option');
}

const escape = (text: string) => text.replace(/[$^.*+?()[\]{}|\\]/g, '\\$&');
/** A field's name as written, maybe with the " *" Grafana appends to required fields and the field's description. */
const fieldName = (label: string | RegExp) => (typeof label === 'string' ? new RegExp(`^${escape(label)}( \\*)?( |$)`) : label);

/**
 * Does what a user does with a long list: clicks the Combobox labelled `label`, types the option's
 * label to narrow the list, and clicks the option that starts with it (its description follows).
 */
export async function chooseOption(user: UserEvent, label: string | RegExp, option: string): Promise<void> {
  const input = await screen.findByRole('combobox', { name: fieldName(label) });
  // Select what the field shows (the current choice) and type over it.
  await user.type(input, option.replace(/[[{]/g, '$&$&'), { initialSelectionStart: 0, initialSelectionEnd: (input as HTMLInputElement).value.length }); // [ and { doubled: user.type reads them as key names
  const listbox = await screen.findByRole('listbox');
  await user.click(await within(listbox).findByRole('option', { name: new RegExp(`^${escape(option)}`) }));
}

/** Types into the Combobox labelled `label` and takes what was typed as a custom value. */
export async function typeCustomValue(user: UserEvent, label: string | RegExp, text: string): Promise<void> {
  const input = await screen.findByRole('combobox', { name: fieldName(label) });
  await user.type(input, text.replace(/[[{]/g, '$&$&'), { initialSelectionStart: 0, initialSelectionEnd: (input as HTMLInputElement).value.length });
  const listbox = await screen.findByRole('listbox');
  await user.click(await within(listbox).findByRole('option', { name: new RegExp(escape(text)) }));
}
