// Types of seed.mjs for the TypeScript that imports it (`npm start`).
export declare const DEMO_SHOW_TITLE: string;

export type Show = {
  id: string;
  title: string;
  venue: string;
  startsAt: string;
  ticketTypes: {
    id: string;
    name: string;
    priceMinor: number;
    currency: string;
    available: number;
    perOrderLimit: number;
  }[];
};

export declare function signInAdmin(gatewayUrl: string, admin: { email: string; password: string }): Promise<string>;
export declare function seedDemoShow(options: { gatewayUrl: string; accessToken: string; now?: Date }): Promise<Show>;
